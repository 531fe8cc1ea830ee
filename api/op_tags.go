package api

import (
	"context"
	"slices"
)

func init() {
	Register(tagResource{})
	Register(untagResource{})
	Register(listTagsForResource{})
}

// maxTags is AWS's limit of tags per resource.
const maxTags = 50

func errTooManyTags(arn string) *Error {
	return Errorf("TooManyTags", "Too many tags for resource '%s': at most %d", arn, maxTags)
}

type resourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	Tags        []Tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

// tagged returns the state machine a resourceArn names, or
// ResourceNotFound.
func (s *Server) tagged(in *resourceInput) (*stateMachine, error) {
	var v validation
	v.required("resourceArn", in.ResourceArn != nil)
	v.length("resourceArn", in.ResourceArn, 1, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	m, err := s.machine(*in.ResourceArn)
	var e *Error
	if asError(err, &e) && e.Type == "StateMachineDoesNotExist" {
		return nil, Errorf("ResourceNotFound", "Resource not found: '%s'", *in.ResourceArn)
	}
	return m, err
}

// mergeTags returns old with the tags of add set (a key already there gets
// the new value).
func mergeTags(old, add []Tag) []Tag {
	out := slices.Clone(old)
next:
	for _, t := range add {
		if t.Key == nil {
			continue
		}
		for i := range out {
			if *out[i].Key == *t.Key {
				out[i].Value = t.Value
				continue next
			}
		}
		out = append(out, t)
	}
	return out
}

// retag replaces a state machine's tags by f's result.
func (s *Server) retag(m *stateMachine, f func([]Tag) ([]Tag, error)) error {
	return s.change(func(byName map[string]*stateMachine) error {
		cur := byName[m.Name]
		if cur == nil {
			return Errorf("ResourceNotFound", "Resource not found: '%s'", m.arn)
		}
		tags, err := f(cur.Tags)
		if err != nil {
			return err
		}
		c := *cur
		c.Tags = tags
		byName[m.Name] = &c
		return nil
	})
}

type tagResource struct{}

func (tagResource) Name() string { return "TagResource" }

func (tagResource) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in resourceInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.required("tags", in.Tags != nil)
	checkTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	m, err := s.tagged(&in)
	if err != nil {
		return nil, err
	}
	return nil, s.retag(m, func(old []Tag) ([]Tag, error) {
		tags := mergeTags(old, in.Tags)
		if len(tags) > maxTags {
			return nil, errTooManyTags(m.arn)
		}
		return tags, nil
	})
}

type untagResource struct{}

func (untagResource) Name() string { return "UntagResource" }

func (untagResource) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in resourceInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.required("tagKeys", in.TagKeys != nil)
	for i := range in.TagKeys {
		v.length("tagKeys."+itoa(i+1)+".member", &in.TagKeys[i], 1, 128)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	m, err := s.tagged(&in)
	if err != nil {
		return nil, err
	}
	return nil, s.retag(m, func(old []Tag) ([]Tag, error) {
		return slices.DeleteFunc(slices.Clone(old), func(t Tag) bool { return slices.Contains(in.TagKeys, *t.Key) }), nil
	})
}

type listTagsForResource struct{}

func (listTagsForResource) Name() string { return "ListTagsForResource" }

func (listTagsForResource) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in resourceInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	m, err := s.tagged(&in)
	if err != nil {
		return nil, err
	}
	tags := m.Tags
	if tags == nil {
		tags = []Tag{}
	}
	return Encode(struct {
		Tags []Tag `json:"tags"`
	}{tags})
}
