package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

// stateMachine is one state machine. Its fields do not change once it is
// in the store: an update replaces it by a copy (readers hold no lock
// while they run executions).
type stateMachine struct {
	Name       string                   `json:"name"`
	Definition string                   `json:"definition"`
	RoleArn    string                   `json:"roleArn"`
	Type       string                   `json:"type"`
	Created    Timestamp                `json:"creationDate"`
	Updated    Timestamp                `json:"updateDate"`
	RevisionID string                   `json:"revisionId"`
	Logging    *LoggingConfiguration    `json:"loggingConfiguration,omitempty"`
	Tracing    *TracingConfiguration    `json:"tracingConfiguration,omitempty"`
	Encryption *EncryptionConfiguration `json:"encryptionConfiguration,omitempty"`
	Tags       []Tag                    `json:"tags,omitempty"`

	arn string
	wf  *express.Workflow
	// configured is set for the daemon's workflows (Bind): they are not
	// persisted and cannot be updated or deleted through the API.
	configured bool
	starter    Starter
}

// store holds the state machines by name.
type store struct {
	mu     sync.RWMutex
	byName map[string]*stateMachine
	// saveMu orders the writes of the state file.
	saveMu sync.Mutex
}

const stateFile = "state-machines.json"

// loadStore reads the state file, compiling every definition.
func (s *Server) loadStore() (*store, error) {
	st := &store{byName: map[string]*stateMachine{}}
	if s.o.StateDir == "" {
		return st, nil
	}
	if err := os.MkdirAll(s.o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("api state dir: %w", err)
	}
	path := filepath.Join(s.o.StateDir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api state: %w", err)
	}
	var doc struct {
		StateMachines []*stateMachine `json:"stateMachines"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("api state: %s: %w", path, err)
	}
	for _, m := range doc.StateMachines {
		if !validName(m.Name) {
			return nil, fmt.Errorf("api state: %s: invalid state machine name %q", path, m.Name)
		}
		m.arn = s.stateMachineARN(m.Name)
		if m.wf, err = s.compile(m.Name, m.Definition); err != nil {
			return nil, fmt.Errorf("api state: %s: state machine %q: %v", path, m.Name, err)
		}
		st.byName[m.Name] = m
	}
	return st, nil
}

// compile compiles a definition for the server's resources; the error is
// an InvalidDefinition naming every problem.
func (s *Server) compile(name, def string) (*express.Workflow, error) {
	copts := compile.Options{Name: name, Invoker: s.o.Invoker, CheckResource: s.o.CheckResource}
	if s.o.Hooks != nil {
		copts.Hooks = s.o.Hooks(name)
	}
	wf, err := compile.Compile([]byte(def), copts)
	if err != nil {
		var ps diag.Problems
		if !errors.As(err, &ps) {
			ps = diag.Problems{{Message: err.Error()}}
		}
		return nil, errInvalidDefinition(ps)
	}
	if s.o.BuildPool != nil {
		wf = wf.WithBuildPool(s.o.BuildPool)
	}
	return wf, nil
}

func (st *store) get(name string) *stateMachine {
	st.mu.RLock()
	m := st.byName[name]
	st.mu.RUnlock()
	return m
}

// list returns the state machines sorted by name.
func (st *store) list() []*stateMachine {
	st.mu.RLock()
	out := make([]*stateMachine, 0, len(st.byName))
	for _, m := range st.byName {
		out = append(out, m)
	}
	st.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// change runs f under the write lock and then saves the state (when f
// returns nil and a state dir is set).
func (s *Server) change(f func(byName map[string]*stateMachine) error) error {
	st := s.store
	st.saveMu.Lock()
	defer st.saveMu.Unlock()
	st.mu.Lock()
	err := f(st.byName)
	var snapshot []*stateMachine
	if err == nil && s.o.StateDir != "" {
		for _, m := range st.byName {
			if !m.configured {
				snapshot = append(snapshot, m)
			}
		}
	}
	st.mu.Unlock()
	if err != nil || s.o.StateDir == "" {
		return err
	}
	sort.Slice(snapshot, func(i, j int) bool { return snapshot[i].Name < snapshot[j].Name })
	return s.save(snapshot)
}

// save writes the state file atomically: a temporary file in the same
// folder, synced, then renamed over the old one.
func (s *Server) save(ms []*stateMachine) error {
	if ms == nil {
		ms = []*stateMachine{}
	}
	b, err := json.MarshalIndent(map[string]any{"stateMachines": ms}, "", "  ")
	if err != nil {
		return errInternal(err)
	}
	f, err := os.CreateTemp(s.o.StateDir, stateFile+".*.tmp")
	if err != nil {
		return errInternal(fmt.Errorf("saving the API state: %w", err))
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(s.o.StateDir, stateFile))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return errInternal(fmt.Errorf("saving the API state: %w", err))
	}
	return nil
}

// machine returns the state machine an ARN names, or the error AWS
// answers (InvalidArn, StateMachineDoesNotExist).
func (s *Server) machine(arn string) (*stateMachine, error) {
	if name, ok := strings.CutPrefix(arn, s.smPrefix); ok && name != "" && !strings.Contains(name, ":") {
		// the usual case, without splitting the ARN
		if m := s.store.get(name); m != nil {
			return m, nil
		}
		return nil, errNoStateMachine(arn)
	}
	name, here, err := s.stateMachineName(arn)
	if err != nil {
		return nil, err
	}
	if !here {
		return nil, errNoStateMachine(arn)
	}
	m := s.store.get(name)
	if m == nil {
		return nil, errNoStateMachine(arn)
	}
	return m, nil
}

func now(s *Server) time.Time { return s.o.now().UTC() }

// StateMachineInfo describes a state machine served by the API, for
// listings outside it (the web console).
type StateMachineInfo struct {
	Name, StateMachineArn, Type string
	Definition                  string
	CreationDate                time.Time
	// Configured is set for the daemon's own workflows (Bind), false for
	// state machines created through the API.
	Configured bool
}

// StateMachines lists the state machines the API serves, sorted by name.
func (s *Server) StateMachines() []StateMachineInfo {
	list := s.store.list()
	out := make([]StateMachineInfo, 0, len(list))
	for _, m := range list {
		out = append(out, StateMachineInfo{Name: m.Name, StateMachineArn: m.arn, Type: m.Type, Definition: m.Definition,
			CreationDate: time.Time(m.Created), Configured: m.configured})
	}
	return out
}
