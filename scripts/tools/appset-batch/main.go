// appset-batch expands Argo CD ApplicationSets offline with Argo CD's own code (v3.5.1): its
// generators (list, git, clusters, matrix, merge), its template rendering (fasttemplate, or Go's
// text/template with Argo CD's sprig function set and goTemplateOptions), templatePatch, and the
// controller's GenerateApplications loop. Only the live systems are replaced: the repo-server
// reads the working tree given in each request, cluster Secrets come with the request, and every
// AppProject exists. Generators that need a live system (scmProvider, pullRequest,
// clusterDecisionResource, plugin; clusters when no cluster is known) are reported, not expanded.
//
// Protocol: one JSON object per line on stdin, one JSON object per line on stdout.
//
//	{"applicationSet": {...}, "source": {file, apiVersion, kind, name, namespace}, "root": DIR,
//	 "repoURL": URL, "clusters": [{name, server, ...}]}
//	-> {"applications": [{"generator": i, "params": {...}, "application": {...}, "patch": "..."}],
//	    "errors": [{"generator": i, "params": {...}, "message": "...", "field": [...]}],
//	    "notExpanded": [{"generator": i, "kind": "pullRequest", "reason": "..."}]}
//
//	{"render": {"template": {metadata, spec}, "element": YAML, "goTemplate": b, "options": [...], "namespace": ns}}
//	-> {"application": {...}} or {"renderError": "..."}: RenderTemplateParams called directly on
//	   the params Argo CD's list generator makes of one element (the differential tests' reference).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/gitops-engine/pkg/utils/kube"

	"github.com/argoproj/argo-cd/v3/applicationset/controllers/template"
	"github.com/argoproj/argo-cd/v3/applicationset/generators"
	"github.com/argoproj/argo-cd/v3/applicationset/utils"
	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	argoutil "github.com/argoproj/argo-cd/v3/util/argo"
)

// Argo CD's namespace, where the cluster Secrets are listed.
const controllerNamespace = "argocd"

// elementKey marks each rendered Application with the index of its parameter set, so that the
// Applications GenerateApplications returns are matched to the element that made them.
const elementKey = "appset-batch.wavegate.invalid/element"

type request struct {
	ApplicationSet json.RawMessage `json:"applicationSet,omitempty"`
	Source         *source         `json:"source,omitempty"`
	Root           string          `json:"root,omitempty"`
	RepoURL        string          `json:"repoURL,omitempty"`
	Clusters       []cluster       `json:"clusters,omitempty"`
	Render         *renderRequest  `json:"render,omitempty"`
}

// source is the file an ApplicationSet is written in: read as Argo CD reads manifests from a
// repository (kube.SplitYAML: sigs.k8s.io/yaml's typing of every scalar), the ApplicationSet is
// the one document of that apiVersion, kind, name and namespace.
type source struct {
	File       string `json:"file"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
}

type cluster struct {
	Name        string            `json:"name"`
	Server      string            `json:"server"`
	Project     *string           `json:"project,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type renderRequest struct {
	Template   json.RawMessage `json:"template"`
	Element    string          `json:"element"`
	GoTemplate bool            `json:"goTemplate"`
	Options    []string        `json:"options"`
	Namespace  string          `json:"namespace"`
}

type response struct {
	Applications []generated `json:"applications,omitempty"`
	Errors       []problem   `json:"errors,omitempty"`
	NotExpanded  []skipped   `json:"notExpanded,omitempty"`
	ReadFrom     string      `json:"readFrom,omitempty"` // "file" or "request": where the ApplicationSet was read
	Application  any         `json:"application,omitempty"`
	RenderError  string      `json:"renderError,omitempty"`
	Error        string      `json:"error,omitempty"` // a request this program cannot read
}

type generated struct {
	Generator   int            `json:"generator"`
	Params      map[string]any `json:"params"`
	Application map[string]any `json:"application"`
	Patch       *string        `json:"patch,omitempty"` // the templatePatch as rendered for these params
}

type problem struct {
	Generator int            `json:"generator"`
	Params    map[string]any `json:"params,omitempty"`
	Message   string         `json:"message"`
	Field     []any          `json:"field,omitempty"` // where in the ApplicationSet the failing template is
}

type skipped struct {
	Generator int    `json:"generator"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason"`
	URL       string `json:"url,omitempty"`
}

func main() {
	log.SetOutput(io.Discard) // Argo CD logs every generator error; they are returned instead
	defer func() {
		if bareDir != "" {
			_ = os.RemoveAll(bareDir)
		}
	}()
	// Argo CD clones its template, with every sprig function, for each string it renders: most of
	// the garbage. Collecting less often saves a third of the CPU time for 50% more memory.
	debug.SetGCPercent(400)
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				_ = out.Encode(response{Error: "bad request: " + jerr.Error()})
			} else {
				_ = out.Encode(serve(req))
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

func serve(req request) (resp response) {
	defer func() {
		if r := recover(); r != nil { // Argo CD's controller recovers from panics in a reconcile, too
			resp = response{Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	if req.Render != nil {
		return renderDirectly(*req.Render)
	}
	return expand(req)
}

// -- expansion ---------------------------------------------------------------------------------

func expand(req request) response {
	raw, readFrom := req.ApplicationSet, "request"
	if fromFile := readSource(req.Source); fromFile != nil {
		raw, readFrom = fromFile, "file"
	}
	var appset v1alpha1.ApplicationSet
	if err := json.Unmarshal(raw, &appset); err != nil {
		return response{ReadFrom: readFrom,
			Errors: []problem{{Generator: -1, Message: "the ApplicationSet cannot be read: " + err.Error()}}}
	}
	k8s, err := clientFor(req.Clusters)
	if err != nil {
		return response{Error: err.Error()}
	}
	tree := &workTree{root: req.Root}
	gens := generatorSet(tree, req, k8s)
	resp := response{ReadFrom: readFrom}
	for i, gen := range appset.Spec.Generators {
		one := appset.DeepCopy()
		one.Spec.Generators = []v1alpha1.ApplicationSetGenerator{gen}
		rec := &recorder{}
		apps, err := generate(*one, gens, rec, k8s)
		var skip *notExpanded
		if errors.As(err, &skip) {
			resp.NotExpanded = append(resp.NotExpanded, skipped{Generator: i, Kind: skip.kind, Reason: skip.reason, URL: skip.url})
			continue
		}
		if len(generators.GetRelevantGenerators(&gen, gens)) == 0 {
			resp.NotExpanded = append(resp.NotExpanded, skipped{Generator: i, Kind: "", Reason: "unrecognized"})
			continue
		}
		made := map[int]bool{}
		for n := range apps {
			app := &apps[n]
			idx, ok := rec.take(app)
			if !ok { // the patch dropped the marker: GenerateApplications keeps the elements' order
				idx = rec.nth(n)
			}
			made[idx] = true
			resp.Applications = append(resp.Applications, generated{
				Generator: i, Params: rec.params[idx], Application: output(app), Patch: rec.patch(idx),
			})
		}
		reported := map[string]bool{}
		for _, e := range rec.errors {
			reported[e.message] = true
			resp.Errors = append(resp.Errors, problem{Generator: i, Params: rec.params[e.index], Message: e.message,
				Field: e.field(one, i, rec.params[e.index])})
		}
		if err != nil && !reported[err.Error()] {
			p := problem{Generator: i, Message: err.Error(), Field: []any{"spec", "generators", i}}
			for idx := range rec.params { // rendered, yet no Application: its templatePatch failed
				if !made[idx] && !rec.failed(idx) {
					p.Params, p.Field = rec.params[idx], []any{"spec", "templatePatch"}
					break
				}
			}
			resp.Errors = append(resp.Errors, p)
		}
	}
	return resp
}

// readSource is the ApplicationSet's document in its file, as JSON; nil when it is not found once.
func readSource(src *source) json.RawMessage {
	if src == nil {
		return nil
	}
	data, err := os.ReadFile(src.File)
	if err != nil {
		return nil
	}
	objs, _ := kube.SplitYAML(data)
	var found json.RawMessage
	for _, obj := range objs {
		if obj.GetAPIVersion() == src.APIVersion && obj.GetKind() == src.Kind && obj.GetName() == src.Name &&
			obj.GetNamespace() == src.Namespace {
			if found != nil {
				return nil
			}
			found, err = json.Marshal(obj.Object)
			if err != nil {
				return nil
			}
		}
	}
	return found
}

// generate is the controller's GenerateApplications; a panic in it (the controller recovers from
// it and the reconcile fails) is that generator's error.
func generate(appset v1alpha1.ApplicationSet, gens map[string]generators.Generator, rec *recorder, k8s client.Client) (apps []v1alpha1.Application, err error) {
	defer func() {
		if r := recover(); r != nil {
			apps, err = nil, fmt.Errorf("the ApplicationSet controller fails (panics) on this generator: %v", r)
		}
	}()
	apps, _, err = template.GenerateApplications(log.NewEntry(log.StandardLogger()), appset, gens, rec, k8s)
	return apps, err
}

// output is the Application as the ApplicationSet controller writes it (createOrUpdateInCluster):
// its name, namespace, labels, annotations, finalizers and normalized spec.
func output(app *v1alpha1.Application) map[string]any {
	meta := map[string]any{"name": app.Name}
	if app.Namespace != "" {
		meta["namespace"] = app.Namespace
	}
	if len(app.Labels) > 0 {
		meta["labels"] = app.Labels
	}
	if len(app.Annotations) > 0 {
		meta["annotations"] = app.Annotations
	}
	if len(app.Finalizers) > 0 {
		meta["finalizers"] = app.Finalizers
	}
	var spec any
	data, _ := json.Marshal(argoutil.NormalizeApplicationSpec(&app.Spec))
	_ = json.Unmarshal(data, &spec)
	return map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta, "spec": spec}
}

// recorder is Argo CD's Render, noting the parameters of every Application it renders, the
// templatePatch rendered for them, and every error, with the parameters that caused it.
type recorder struct {
	inner   utils.Render
	params  []map[string]any
	patches map[int]string
	errors  []renderError
}

type renderError struct {
	index   int
	message string
	patch   bool // the templatePatch failed, not the template
}

func (r *recorder) RenderTemplateParams(tmpl *v1alpha1.Application, syncPolicy *v1alpha1.ApplicationSetSyncPolicy, params map[string]any, useGoTemplate bool, goTemplateOptions []string) (*v1alpha1.Application, error) {
	idx := len(r.params)
	r.params = append(r.params, params)
	app, err := r.inner.RenderTemplateParams(tmpl, syncPolicy, params, useGoTemplate, goTemplateOptions)
	if err != nil {
		r.errors = append(r.errors, renderError{index: idx, message: err.Error()})
		return nil, err
	}
	app = app.DeepCopy() // without params Argo CD returns the template itself
	if app.Annotations == nil {
		app.Annotations = map[string]string{}
	}
	app.Annotations[elementKey] = strconv.Itoa(idx)
	return app, nil
}

// Replace is called by GenerateApplications for the templatePatch only.
func (r *recorder) Replace(tmpl string, replaceMap map[string]any, useGoTemplate bool, goTemplateOptions []string) (string, error) {
	idx := len(r.params) - 1
	out, err := r.inner.Replace(tmpl, replaceMap, useGoTemplate, goTemplateOptions)
	if err != nil {
		r.errors = append(r.errors, renderError{index: idx, message: "error replacing values in templatePatch: " + err.Error(), patch: true})
		return out, err
	}
	if r.patches == nil {
		r.patches = map[int]string{}
	}
	r.patches[idx] = out
	return out, nil
}

func (r *recorder) take(app *v1alpha1.Application) (int, bool) {
	value, ok := app.Annotations[elementKey]
	if !ok {
		return 0, false
	}
	delete(app.Annotations, elementKey)
	if len(app.Annotations) == 0 {
		app.Annotations = nil
	}
	idx, err := strconv.Atoi(value)
	return idx, err == nil && idx < len(r.params)
}

// nth is the index of the n-th parameter set that rendered without an error.
func (r *recorder) nth(n int) int {
	for idx := range r.params {
		if !r.failed(idx) {
			if n == 0 {
				return idx
			}
			n--
		}
	}
	return 0
}

func (r *recorder) failed(idx int) bool {
	for _, e := range r.errors {
		if e.index == idx {
			return true
		}
	}
	return false
}

func (r *recorder) patch(idx int) *string {
	if p, ok := r.patches[idx]; ok {
		return &p
	}
	return nil
}

// field is where in the ApplicationSet the template that failed is written.
func (e renderError) field(appset *v1alpha1.ApplicationSet, gi int, params map[string]any) []any {
	if e.patch {
		return []any{"spec", "templatePatch"}
	}
	render := &utils.Render{}
	fails := func(s string) bool {
		_, err := render.Replace(s, params, appset.Spec.GoTemplate, appset.Spec.GoTemplateOptions)
		return err != nil
	}
	gen := appset.Spec.Generators[0]
	for _, key := range generatorKinds(&gen) {
		if t := generatorTemplate(&gen, key); t != nil {
			if where := firstFailing(jsonTree(t), []any{"spec", "generators", gi, key, "template"}, fails); where != nil {
				return where
			}
		}
	}
	if where := firstFailing(jsonTree(appset.Spec.Template), []any{"spec", "template"}, fails); where != nil {
		return where
	}
	return []any{"spec", "template"}
}

func jsonTree(v any) any {
	data, _ := json.Marshal(v)
	var tree any
	_ = json.Unmarshal(data, &tree)
	return tree
}

// firstFailing walks a JSON tree (keys sorted) for the first string, or map key, that fails.
func firstFailing(node any, at []any, fails func(string) bool) []any {
	switch v := node.(type) {
	case string:
		if fails(v) {
			return at
		}
	case []any:
		for i, item := range v {
			if where := firstFailing(item, appendPath(at, i), fails); where != nil {
				return where
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if fails(k) {
				return appendPath(at, k)
			}
			if where := firstFailing(v[k], appendPath(at, k), fails); where != nil {
				return where
			}
		}
	}
	return nil
}

func appendPath(at []any, step any) []any {
	return append(append([]any{}, at...), step)
}

func generatorKinds(gen *v1alpha1.ApplicationSetGenerator) []string {
	var kinds []string
	for key, set := range map[string]bool{
		"list": gen.List != nil, "clusters": gen.Clusters != nil, "git": gen.Git != nil,
		"scmProvider": gen.SCMProvider != nil, "clusterDecisionResource": gen.ClusterDecisionResource != nil,
		"pullRequest": gen.PullRequest != nil, "matrix": gen.Matrix != nil, "merge": gen.Merge != nil,
		"plugin": gen.Plugin != nil,
	} {
		if set {
			kinds = append(kinds, key)
		}
	}
	sort.Strings(kinds)
	return kinds
}

func generatorTemplate(gen *v1alpha1.ApplicationSetGenerator, kind string) *v1alpha1.ApplicationSetTemplate {
	switch kind {
	case "list":
		return &gen.List.Template
	case "clusters":
		return &gen.Clusters.Template
	case "git":
		return &gen.Git.Template
	case "scmProvider":
		return &gen.SCMProvider.Template
	case "clusterDecisionResource":
		return &gen.ClusterDecisionResource.Template
	case "pullRequest":
		return &gen.PullRequest.Template
	case "matrix":
		return &gen.Matrix.Template
	case "merge":
		return &gen.Merge.Template
	case "plugin":
		return &gen.Plugin.Template
	}
	return nil
}

// -- the generators ----------------------------------------------------------------------------

// generatorSet is GetGenerators (applicationset/generators/utils.go) with the live systems
// replaced: the repo-server by the working tree, the Kubernetes client by the known clusters.
func generatorSet(tree *workTree, req request, k8s client.Client) map[string]generators.Generator {
	var clusters generators.Generator = live{kind: "clusters", reason: "no known clusters"}
	if len(req.Clusters) > 0 {
		clusters = generators.NewClusterGenerator(k8s, controllerNamespace)
	}
	terminal := map[string]generators.Generator{
		"List":                    generators.NewListGenerator(),
		"Clusters":                clusters,
		"Git":                     &gitHere{inner: generators.NewGitGenerator(tree, controllerNamespace), repoURL: req.RepoURL},
		"SCMProvider":             live{kind: "scmProvider", reason: "live"},
		"ClusterDecisionResource": live{kind: "clusterDecisionResource", reason: "live"},
		"PullRequest":             live{kind: "pullRequest", reason: "live"},
		"Plugin":                  live{kind: "plugin", reason: "live"},
	}
	nested := map[string]generators.Generator{}
	top := map[string]generators.Generator{}
	for name, g := range terminal {
		nested[name], top[name] = g, g
	}
	nested["Matrix"] = generators.NewMatrixGenerator(terminal)
	nested["Merge"] = generators.NewMergeGenerator(terminal)
	top["Matrix"] = generators.NewMatrixGenerator(nested)
	top["Merge"] = generators.NewMergeGenerator(nested)
	return top
}

// notExpanded is the error of a generator that needs a live system; it travels up through the
// matrix and merge generators, which wrap their children's errors.
type notExpanded struct {
	kind   string
	reason string // live, no known clusters, another repository, nothing here
	url    string
}

func (e *notExpanded) Error() string { return e.kind + " generator not expanded: " + e.reason }

type live struct {
	kind   string
	reason string
}

func (l live) GenerateParams(*v1alpha1.ApplicationSetGenerator, *v1alpha1.ApplicationSet, client.Client) ([]map[string]any, error) {
	return nil, &notExpanded{kind: l.kind, reason: l.reason}
}
func (l live) GetRequeueAfter(*v1alpha1.ApplicationSetGenerator) time.Duration {
	return generators.NoRequeueAfter
}
func (l live) GetTemplate(g *v1alpha1.ApplicationSetGenerator) *v1alpha1.ApplicationSetTemplate {
	return generatorTemplate(g, l.kind)
}

// gitHere is Argo CD's git generator for this repository only: another repository's files are
// not here. With no known URL, a git generator that finds nothing here is taken to read another.
type gitHere struct {
	inner   generators.Generator
	repoURL string
}

func (g *gitHere) GenerateParams(gen *v1alpha1.ApplicationSetGenerator, appset *v1alpha1.ApplicationSet, c client.Client) ([]map[string]any, error) {
	if gen != nil && gen.Git != nil && g.repoURL != "" && canonicalRepoURL(gen.Git.RepoURL) != canonicalRepoURL(g.repoURL) {
		return nil, &notExpanded{kind: "git", reason: "another repository", url: gen.Git.RepoURL}
	}
	params, err := g.inner.GenerateParams(gen, appset, c)
	if err == nil && len(params) == 0 && g.repoURL == "" && gen != nil && gen.Git != nil {
		return nil, &notExpanded{kind: "git", reason: "nothing here", url: gen.Git.RepoURL}
	}
	return params, err
}
func (g *gitHere) GetRequeueAfter(gen *v1alpha1.ApplicationSetGenerator) time.Duration {
	return g.inner.GetRequeueAfter(gen)
}
func (g *gitHere) GetTemplate(gen *v1alpha1.ApplicationSetGenerator) *v1alpha1.ApplicationSetTemplate {
	return g.inner.GetTemplate(gen)
}

var scpLike = regexp.MustCompile(`^(?:[\w.-]+@)?([\w.-]+):(.+)$`)

// canonicalRepoURL is wavegate's canonical_repo_url (wavegate.argocd.application): host/path.
func canonicalRepoURL(raw string) string {
	raw = strings.TrimSpace(raw)
	host, p := "", raw
	if m := scpLike.FindStringSubmatch(raw); !strings.Contains(raw, "://") && m != nil && !strings.HasPrefix(m[2], "//") {
		host, p = m[1], m[2]
	} else if u, err := url.Parse(raw); err == nil {
		host, p = u.Hostname(), u.Path
	}
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	return strings.ToLower(host) + "/" + p
}

// clientFor is newClient for these clusters, built once: every request of a run sends the same
// clusters, and building a client (its scheme, above all) cost more than expanding an
// ApplicationSet. The generators only read through it.
func clientFor(clusters []cluster) (client.Client, error) {
	key, err := json.Marshal(clusters)
	if err != nil {
		return nil, err
	}
	if known, ok := clients[string(key)]; ok {
		return known, nil
	}
	made, err := newClient(clusters)
	if err != nil {
		return nil, err
	}
	if len(clients) >= maxClients {
		clients = map[string]client.Client{}
	}
	clients[string(key)] = made
	return made, nil
}

// The clients built so far, by their clusters as JSON (requests are served one at a time).
var clients = map[string]client.Client{}

const maxClients = 8

// newClient is the Kubernetes API the generators see: the known cluster Secrets in Argo CD's
// namespace, and every AppProject (the git generator reads the template's project).
func newClient(clusters []cluster) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	objects := make([]client.Object, 0, len(clusters))
	for i, c := range clusters {
		labels := map[string]string{}
		for k, v := range c.Labels {
			labels[k] = v
		}
		labels[common.LabelKeySecretType] = common.LabelValueSecretTypeCluster
		data := map[string][]byte{"name": []byte(c.Name), "server": []byte(c.Server)}
		if c.Project != nil {
			data["project"] = []byte(*c.Project)
		}
		objects = append(objects, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cluster-%d", i), Namespace: controllerNamespace,
				Labels: labels, Annotations: c.Annotations},
			Data: data,
		})
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if project, ok := obj.(*v1alpha1.AppProject); ok {
				project.Name, project.Namespace = key.Name, key.Namespace
				return nil
			}
			return c.Get(ctx, key, obj, opts...)
		},
	}).Build(), nil
}

// -- the working tree as the repo-server sees it ----------------------------------------------

// workTree answers the repo-server's GetFiles and GetDirectories (reposerver/repository
// GetGitFiles, GetGitDirectories) from a working tree: the files git lists (tracked, and
// untracked but not ignored, since they are what the merge request adds), matched by git's own
// pathspec as `git ls-files -- PATTERN` matches them in the repo-server.
type workTree struct {
	root  string
	isGit *bool
}

func (t *workTree) GetFiles(_ context.Context, _, _, _, pattern string, _ bool, _ *v1alpha1.SourceIntegrity) (map[string][]byte, error) {
	if pattern == "" {
		pattern = "."
	}
	files, err := t.lsFiles(pattern)
	if err != nil {
		return nil, err
	}
	res := map[string][]byte{}
	for _, f := range files {
		content, err := os.ReadFile(filepath.Join(t.root, filepath.FromSlash(f)))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted in the working tree
			}
			return nil, fmt.Errorf("unable to read files. pattern %s: %w", pattern, err)
		}
		res[f] = content
	}
	return res, nil
}

func (t *workTree) GetDirectories(context.Context, string, string, string, bool, *v1alpha1.SourceIntegrity) ([]string, error) {
	files, err := t.lsFiles(".")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var dirs []string
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(t.root, filepath.FromSlash(f))); err != nil {
			continue
		}
		parts := strings.Split(f, "/")
		for i := 1; i < len(parts); i++ {
			if strings.HasPrefix(parts[i-1], ".") {
				break // the repo-server skips hidden directories and what is under them
			}
			dir := strings.Join(parts[:i], "/")
			if !seen[dir] {
				seen[dir] = true
				dirs = append(dirs, dir)
			}
		}
	}
	// filepath.WalkDir's order: depth first, each directory's entries sorted by name
	sort.Slice(dirs, func(i, j int) bool {
		a, b := strings.Split(dirs[i], "/"), strings.Split(dirs[j], "/")
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	return dirs, nil
}

func (t *workTree) lsFiles(pattern string) ([]string, error) {
	args := []string{"ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", pattern}
	if !t.inGit() {
		bare, err := emptyGitDir()
		if err != nil {
			return nil, err
		}
		args = append([]string{"--git-dir=" + bare, "--work-tree=."}, args...)
	}
	out, err := t.git(t.root, args...)
	if err != nil {
		return nil, fmt.Errorf("unable to list files. pattern %s: %w", pattern, err)
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f != "" {
			files = append(files, path.Clean(filepath.ToSlash(f)))
		}
	}
	return files, nil
}

// bareDir is an empty git directory (made once, removed at exit): with it, git lists the files of
// a folder that is not a repository, matched by the same pathspec rules.
var bareDir string

func emptyGitDir() (string, error) {
	if bareDir == "" {
		dir, err := os.MkdirTemp("", "appset-batch-git-")
		if err != nil {
			return "", err
		}
		if _, err := (&workTree{}).git(dir, "init", "--quiet", "--bare", dir); err != nil {
			_ = os.RemoveAll(dir)
			return "", err
		}
		bareDir = dir
	}
	return bareDir, nil
}

func (t *workTree) inGit() bool {
	if t.isGit == nil {
		out, err := t.git(t.root, "rev-parse", "--is-inside-work-tree")
		yes := err == nil && strings.TrimSpace(out) == "true"
		t.isGit = &yes
	}
	return *t.isGit
}

func (t *workTree) git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// -- Argo CD's render called directly (the differential tests' reference) ---------------------

func renderDirectly(req renderRequest) response {
	var tmpl v1alpha1.ApplicationSetTemplate
	if err := json.Unmarshal(req.Template, &tmpl); err != nil {
		return response{Error: "bad template: " + err.Error()}
	}
	element, err := yaml.YAMLToJSON([]byte(req.Element))
	if err != nil {
		return response{Error: "bad element: " + err.Error()}
	}
	appset := &v1alpha1.ApplicationSet{Spec: v1alpha1.ApplicationSetSpec{GoTemplate: req.GoTemplate, GoTemplateOptions: req.Options}}
	list := &v1alpha1.ApplicationSetGenerator{List: &v1alpha1.ListGenerator{Elements: []apiextensionsv1.JSON{{Raw: element}}}}
	params, err := generators.NewListGenerator().GenerateParams(list, appset, nil)
	if err != nil {
		return response{RenderError: err.Error()}
	}
	render := &utils.Render{}
	app, err := render.RenderTemplateParams(template.GetTempApplication(tmpl), nil, params[0], req.GoTemplate, req.Options)
	if err != nil {
		return response{RenderError: err.Error()}
	}
	app = app.DeepCopy()
	app.Namespace = req.Namespace
	return response{Application: output(app)}
}
