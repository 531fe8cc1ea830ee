package api

import (
	"context"
	"encoding/base64"
	"sort"
)

func init() { Register(listStateMachines{}) }

type listStateMachines struct{}

func (listStateMachines) Name() string { return "ListStateMachines" }

type listStateMachinesInput struct {
	MaxResults *int64  `json:"maxResults"`
	NextToken  *string `json:"nextToken"`
}

type stateMachineListItem struct {
	StateMachineArn string    `json:"stateMachineArn"`
	Name            string    `json:"name"`
	Type            string    `json:"type"`
	CreationDate    Timestamp `json:"creationDate"`
}

type listStateMachinesOutput struct {
	StateMachines []stateMachineListItem `json:"stateMachines"`
	NextToken     string                 `json:"nextToken,omitempty"`
}

// defaultPageSize is the page size when maxResults is 0 or absent, as AWS
// documents ("the default of 100 is used").
const defaultPageSize = 100

func (listStateMachines) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in listStateMachinesInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.intRange("maxResults", in.MaxResults, 0, 1000)
	v.length("nextToken", in.NextToken, 1, 1024)
	if err := v.err(); err != nil {
		return nil, err
	}
	size := defaultPageSize
	if in.MaxResults != nil && *in.MaxResults > 0 {
		size = int(*in.MaxResults)
	}
	all := s.store.list()
	from := 0
	if in.NextToken != nil {
		after, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || len(after) == 0 {
			return nil, Errorf("InvalidToken", "Invalid Token: '%s'", *in.NextToken)
		}
		// the first name after the last one of the previous page
		from = sort.Search(len(all), func(i int) bool { return all[i].Name > string(after) })
	}
	out := listStateMachinesOutput{StateMachines: []stateMachineListItem{}}
	for i := from; i < len(all) && len(out.StateMachines) < size; i++ {
		m := all[i]
		out.StateMachines = append(out.StateMachines, stateMachineListItem{StateMachineArn: m.arn, Name: m.Name, Type: m.Type, CreationDate: m.Created})
		if len(out.StateMachines) == size && i+1 < len(all) {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(m.Name))
		}
	}
	return Encode(out)
}
