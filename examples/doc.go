// Package examples holds the example workflows of the project, one
// directory each: NAME/NAME.asl.json (the definition, runnable unchanged on
// AWS Step Functions) and NAME/tests/*.json (test cases in the format of
// docs/testcase-format.md, run by `express test examples/`). README.md
// describes them and embeds each one's graph as rendered by package graph.
//
// The package has no code of its own: its tests run every case, check that
// every case runs the example's current definition, and keep the graphs in
// README.md in sync (go test ./examples -update rewrites both).
package examples
