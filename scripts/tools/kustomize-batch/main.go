// kustomize-batch builds many kustomizations in one process, exactly as `kustomize build` does:
// each request runs the kustomize CLI's own build command (same flags, same output), so only the
// process start-up is shared.
//
// Protocol: one JSON object per line on stdin, {"args": ["DIR", "--flag", ...]}; one JSON object
// per line on stdout, {"yaml": "..."} or {"error": "..."}.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"

	"sigs.k8s.io/kustomize/kustomize/v5/commands/build"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

type request struct {
	Args []string `json:"args"`
}

type response struct {
	YAML  string `json:"yaml,omitempty"`
	Error string `json:"error,omitempty"`
}

func main() {
	in := bufio.NewReader(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	fs := filesys.MakeFsOnDisk()
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				_ = out.Encode(response{Error: "bad request: " + jerr.Error()})
			} else {
				_ = out.Encode(run(fs, req.Args))
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			_ = out.Encode(response{Error: err.Error()})
			return
		}
	}
}

func run(fs filesys.FileSystem, args []string) response {
	var buf bytes.Buffer
	cmd := build.NewCmdBuild(fs, build.MakeHelp("kustomize", "build"), &buf)
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		return response{Error: "Error: " + err.Error()}
	}
	return response{YAML: buf.String()}
}
