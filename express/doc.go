// Package express is the runtime of Step Functions Express workflows: a
// compiled state machine (Workflow, Machine, State) and its executions.
//
// A Workflow is built by package compile from an Amazon States Language
// definition, or by hand from a Machine; Execute runs one execution of it
// and returns its Result (status, output, error and cause, as AWS names
// them). A Workflow is immutable and safe for concurrent use.
//
// Extension points:
//   - Invoker runs Task resources (Router dispatches by resource; Inline,
//     InlineResources, ObjectsOK and ObjectResources are capabilities the
//     engine asks an invoker about);
//   - Hooks observe executions, states, Tasks and retries (metrics, logs);
//   - Clock makes time virtual for tests (VirtualClock);
//   - BuildPool bounds what running executions build together.
//
// Inside a state, a Scope carries the execution's variables, context
// object, ownership and size bookkeeping; Retry and Catch, the execution
// time limit and the payload limit are applied by the engine.
package express
