// wavegate-jq tells wavegate what Argo CD makes of ignoreDifferences jqPathExpressions, with the
// jq implementation Argo CD uses (github.com/itchyny/gojq) and the way it uses it: Argo CD's
// normalizer (util/argo/normalizers/diff_normalizer.go) parses "del(" + expression + ")" with
// gojq.Parse and compiles it with gojq.Compile (an error there fails the Application's
// comparison), then runs it on each live and desired object with a one-second timeout (an error
// there is logged and the expression ignores nothing).
//
// Input (stdin): a JSON array of {"expression": "...", "objects": [ {...}, ... ], "results": bool}.
// Output (stdout): a JSON array with one entry per input, in order:
//
//	{"stage": "", "error": ""}                        parses, compiles and runs on every object
//	                                                  (with "results": true, also "outputs": what
//	                                                  del(EXPRESSION) gives for each object)
//	{"stage": "parse", "error": "...", "offset": N}   N: the byte offset in the expression
//	{"stage": "compile", "error": "..."}
//	{"stage": "run", "error": "...", "object": I}     I: the index of the first object it fails on
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/itchyny/gojq"
)

const timeout = time.Second // Argo CD's DefaultJQExecutionTimeout
const wrapper = "del("       // what Argo CD puts before the expression

type request struct {
	Expression string           `json:"expression"`
	Objects    []map[string]any `json:"objects"`
	Results    bool             `json:"results"`
}

type result struct {
	Stage   string `json:"stage"`
	Error   string `json:"error"`
	Offset  *int   `json:"offset,omitempty"`
	Object  *int   `json:"object,omitempty"`
	Outputs []any  `json:"outputs,omitempty"`
}

func check(r request) result {
	query, err := gojq.Parse(fmt.Sprintf("del(%s)", r.Expression))
	if err != nil {
		out := result{Stage: "parse", Error: err.Error()}
		var parseError *gojq.ParseError
		if errors.As(err, &parseError) {
			offset := parseError.Offset - len(wrapper)
			if offset < 0 {
				offset = 0
			}
			if offset > len(r.Expression) {
				offset = len(r.Expression)
			}
			out.Offset = &offset
		}
		return out
	}
	code, err := gojq.Compile(query)
	if err != nil {
		return result{Stage: "compile", Error: err.Error()}
	}
	var outputs []any
	for i, object := range r.Objects {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		first, ok := code.RunWithContext(ctx, object).Next()
		cancel()
		index := i
		if !ok {
			return result{Stage: "run", Error: "jq expression did not return any data", Object: &index}
		}
		if err, isError := first.(error); isError {
			if errors.Is(err, context.DeadlineExceeded) {
				return result{Stage: "run", Error: "jq expression execution timed out", Object: &index}
			}
			return result{Stage: "run", Error: err.Error(), Object: &index}
		}
		if r.Results {
			outputs = append(outputs, first)
		}
	}
	return result{Outputs: outputs}
}

func main() {
	var requests []request
	if err := json.NewDecoder(os.Stdin).Decode(&requests); err != nil {
		fmt.Fprintf(os.Stderr, "wavegate-jq: reading the request: %v\n", err)
		os.Exit(2)
	}
	results := make([]result, len(requests))
	for i, r := range requests {
		results[i] = check(r)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintf(os.Stderr, "wavegate-jq: writing the result: %v\n", err)
		os.Exit(2)
	}
}
