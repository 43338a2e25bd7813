// yaml-oracle: YAML documents in, what sigs.k8s.io/yaml's YAMLToJSON makes of them out.
//
// A test-only program (tests/yaml_oracle.py drives it): kubectl, the Argo CD repo server and the
// API server read YAML through this function, so wavegate's loader is compared with it. It is
// built by scripts/install-tools from this directory; go.mod pins sigs.k8s.io/yaml and go-yaml v2
// at the versions kube-apiserver v1.37.2 is built with.
//
// Protocol, for batches of any size in one process: each input line is a JSON string (one YAML
// document); each output line is a JSON object, in the same order:
//
//	{"json": <what YAMLToJSON returned>}   or   {"error": "<its error>"}
//
// plus "ambiguous": true when two keys of one mapping become the same JSON key (1 and "1",
// true and "true", two .nan): YAMLToJSON then keeps one of them in Go's random map order, so
// the value it keeps (and whether that value converts) is not a fact a test can compare.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

type answer struct {
	JSON      json.RawMessage `json:"json,omitempty"`
	Error     *string         `json:"error,omitempty"`
	Ambiguous bool            `json:"ambiguous,omitempty"`
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(versions())
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 256<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var document string
		if err := json.Unmarshal(in.Bytes(), &document); err != nil {
			fmt.Fprintf(os.Stderr, "yaml-oracle: each input line must be a JSON string: %v\n", err)
			os.Exit(2)
		}
		if err := enc.Encode(judge([]byte(document))); err != nil {
			fmt.Fprintf(os.Stderr, "yaml-oracle: %v\n", err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "yaml-oracle: reading stdin: %v\n", err)
		os.Exit(1)
	}
}

// versions names the modules that do the work, as built in (scripts/install-tools --check).
func versions() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "yaml-oracle (no build information)"
	}
	s := "yaml-oracle"
	for _, dep := range info.Deps {
		if dep.Path == "sigs.k8s.io/yaml" || dep.Path == "go.yaml.in/yaml/v2" {
			s += " " + dep.Path + "@" + dep.Version
		}
	}
	return s
}

func judge(document []byte) (a answer) {
	var decoded interface{}
	if yamlv2.Unmarshal(document, &decoded) == nil {
		a.Ambiguous = ambiguous(decoded) // (then even whether YAMLToJSON fails may be chance)
	}
	converted, err := yaml.YAMLToJSON(document)
	if err != nil {
		message := err.Error()
		a.Error = &message
		return a
	}
	a.JSON = converted
	return a
}

// ambiguous reports whether some mapping in v has two keys that YAMLToJSON turns into the same
// string (it converts keys as below: sigs.k8s.io/yaml convertToJSONableObject).
func ambiguous(v interface{}) bool {
	switch typed := v.(type) {
	case map[interface{}]interface{}:
		seen := make(map[string]bool, len(typed))
		for k, child := range typed {
			s := keyString(k)
			if seen[s] {
				return true
			}
			seen[s] = true
			if ambiguous(child) {
				return true
			}
		}
	case []interface{}:
		for _, child := range typed {
			if ambiguous(child) {
				return true
			}
		}
	}
	return false
}

func keyString(k interface{}) string {
	switch typed := k.(type) {
	case string:
		return typed
	case int:
		return strconv.Itoa(typed)
	case int64:
		return strconv.FormatInt(typed, 10)
	case float64:
		s := strconv.FormatFloat(typed, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s
	case bool:
		if typed {
			return "true"
		}
		return "false"
	}
	return fmt.Sprintf("%T %v", k, k) // refused by YAMLToJSON before this is reached
}
