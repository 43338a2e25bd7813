/* The native half of wavegate.load: libyaml's event stream turned straight into Python objects.
 *
 * parse() reads the documents of one file with libyaml (the parser the Python path uses through
 * PyYAML, and the one go-yaml v2 is a translation of) and builds each document's dicts, lists and
 * scalars itself, typed as sigs.k8s.io/yaml types them: quoted and block scalars, and plain ones
 * whose first character starts no other type, are strings here; every other plain scalar and key
 * is typed once per distinct text by the Python functions it is given (wavegate.kube_yaml), and
 * the answers are kept in the dictionaries it is given. The position of every key, value and item
 * goes into a side table, in document order: per node (key line, key column, value line, value
 * column), the lines as the difference from the line before (zigzag), each number a base-128
 * varint (most take one byte); wavegate.load_native.PositionTable decodes it into a manifest's
 * positions when they are asked for.
 *
 * It handles plain documents only: mappings without anchors, aliases, tags, merge keys or
 * duplicate keys, at most max_depth deep and of at most max_nodes nodes, whose scalars Kubernetes
 * accepts. On anything else (or a syntax error, or a document that is not a mapping or empty) it
 * returns None and the Python path reads the whole file, with every check and finding it has.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#define MAX_STACK 1024

typedef struct {
    PyObject *obj;        /* borrowed: the dict or list (owned by its parent or the root) */
    int is_map;
    PyObject *key;        /* owned: the key waiting for its value, NULL when a key is next */
    Py_ssize_t pairs;     /* entries set: a duplicate key leaves the dict smaller */
    uint32_t key_line, key_column;
} frame_t;

typedef struct {
    unsigned char *bytes;
    size_t length, capacity;
    uint32_t line;        /* the last line written: lines are written as differences */
} table_t;

typedef struct {
    PyObject *resolve_value, *resolve_key;   /* text -> value / key, or raise */
    PyObject *values, *keys;                 /* memo dicts: text -> value / key */
    const unsigned char *resolved_first;     /* 256 flags: plain scalars starting so are typed */
    long max_depth;
    Py_ssize_t max_nodes;
} options_t;

static void
put_varint(unsigned char *out, size_t *at, uint64_t value)
{
    while (value >= 0x80) {
        out[(*at)++] = (unsigned char)(value | 0x80);
        value >>= 7;
    }
    out[(*at)++] = (unsigned char)value;
}

static uint64_t
zigzag(int64_t value)
{
    return ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
}

static int
table_push(table_t *table, uint32_t key_line, uint32_t key_column, uint32_t line, uint32_t column)
{
    if (table->length + 4 * 10 > table->capacity) {
        size_t capacity = table->capacity ? table->capacity * 2 : 1024;
        unsigned char *bytes = PyMem_Realloc(table->bytes, capacity);
        if (bytes == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        table->bytes = bytes;
        table->capacity = capacity;
    }
    put_varint(table->bytes, &table->length, zigzag((int64_t)key_line - (int64_t)table->line));
    put_varint(table->bytes, &table->length, key_column);
    put_varint(table->bytes, &table->length, zigzag((int64_t)line - (int64_t)key_line));
    put_varint(table->bytes, &table->length, column);
    table->line = line;
    return 0;
}

/* Result of a step: OK, FALLBACK (the Python path must read the file) or ERROR (a Python error). */
enum { OK = 0, FALLBACK = 1, ERROR = -1 };

/* The typed value (or key) of a plain scalar: memoised, else asked of Python. A refusal (any
 * exception) sends the file to the Python path, which reports it. */
static PyObject *
resolved(PyObject *text, PyObject *memo, PyObject *resolve, int *status)
{
    PyObject *found = PyDict_GetItemWithError(memo, text);
    if (found != NULL) {
        Py_INCREF(found);
        return found;
    }
    if (PyErr_Occurred()) {
        *status = ERROR;
        return NULL;
    }
    found = PyObject_CallOneArg(resolve, text);
    if (found == NULL) {
        PyErr_Clear();
        *status = FALLBACK;
        return NULL;
    }
    if (PyDict_GET_SIZE(memo) < 100000 && PyDict_SetItem(memo, text, found) < 0) {
        Py_DECREF(found);
        *status = ERROR;
        return NULL;
    }
    return found;
}

/* The Python object of a scalar event, as a value or (is_key) as a mapping key. */
static PyObject *
scalar(const yaml_event_t *event, int is_key, const options_t *options, int *status)
{
    const char *value = (const char *)event->data.scalar.value;
    Py_ssize_t length = (Py_ssize_t)event->data.scalar.length;
    PyObject *text = PyUnicode_DecodeUTF8(value, length, "strict");
    if (text == NULL) {
        *status = ERROR;
        return NULL;
    }
    int plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && event->data.scalar.plain_implicit;
    int typed = plain && (length == 0 || options->resolved_first[(unsigned char)value[0]]
                          || (length == 2 && value[0] == '<' && value[1] == '<'));
    if (!typed) {
        if (is_key)
            PyUnicode_InternInPlace(&text);
        return text;
    }
    if (is_key && length == 2 && value[0] == '<' && value[1] == '<') {  /* a merge key */
        Py_DECREF(text);
        *status = FALLBACK;
        return NULL;
    }
    PyObject *result = resolved(text, is_key ? options->keys : options->values,
                                is_key ? options->resolve_key : options->resolve_value, status);
    Py_DECREF(text);
    return result;
}

/* Whether a root scalar is null (an empty document, `~`, `null`): such documents are skipped. */
static int
null_root(const yaml_event_t *event)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !event->data.scalar.plain_implicit)
        return 0;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        if (event->data.scalar.length == strlen(nulls[i])
            && memcmp(event->data.scalar.value, nulls[i], event->data.scalar.length) == 0)
            return 1;
    }
    return 0;
}

typedef struct {
    frame_t stack[MAX_STACK];
    int depth;
    PyObject *root;        /* owned */
    int root_is_null;
    Py_ssize_t nodes;
    table_t table;
} document_t;

static void
document_clear(document_t *doc)
{
    for (int i = 0; i < doc->depth; i++) {  /* frames left open by a fallback or an error */
        Py_CLEAR(doc->stack[i].key);
        Py_DECREF(doc->stack[i].obj);
    }
    doc->depth = 0;
    Py_CLEAR(doc->root);
    doc->root_is_null = 0;
    doc->nodes = 0;
    doc->table.length = 0;
    doc->table.line = 0;
}

/* A node starts at `mark`: count it, record its position, and say whether it is a key. */
static int
node_start(document_t *doc, const yaml_mark_t *mark, int *is_key, const options_t *options)
{
    uint32_t line = (uint32_t)mark->line + 1, column = (uint32_t)mark->column + 1;
    *is_key = 0;
    if (++doc->nodes > options->max_nodes)
        return FALLBACK;
    if (doc->depth == 0) {
        if (doc->root != NULL || doc->root_is_null)
            return FALLBACK;  /* (libyaml gives one root per document) */
        return table_push(&doc->table, line, column, line, column) < 0 ? ERROR : OK;
    }
    frame_t *top = &doc->stack[doc->depth - 1];
    if (top->is_map) {
        if (top->key == NULL) {
            *is_key = 1;
            top->key_line = line;
            top->key_column = column;
            return OK;
        }
        return table_push(&doc->table, top->key_line, top->key_column, line, column) < 0 ? ERROR : OK;
    }
    return table_push(&doc->table, line, column, line, column) < 0 ? ERROR : OK;
}

/* Put a finished value (owned reference, consumed) into its parent, or make it the root. */
static int
attach(document_t *doc, PyObject *value)
{
    if (doc->depth == 0) {
        doc->root = value;
        return OK;
    }
    frame_t *top = &doc->stack[doc->depth - 1];
    int failed;
    if (top->is_map) {
        failed = PyDict_SetItem(top->obj, top->key, value) < 0;
        Py_CLEAR(top->key);
        top->pairs++;
    }
    else {
        failed = PyList_Append(top->obj, value) < 0;
    }
    Py_DECREF(value);
    return failed ? ERROR : OK;
}

static int
on_event(document_t *doc, const yaml_event_t *event, const options_t *options)
{
    int status = OK, is_key;
    switch (event->type) {
    case YAML_SCALAR_EVENT: {
        if (event->data.scalar.anchor != NULL || event->data.scalar.tag != NULL)
            return FALLBACK;
        if (doc->depth == 0) {
            if (!null_root(event))
                return FALLBACK;  /* a scalar document: the Python path reports it */
            status = node_start(doc, &event->start_mark, &is_key, options);
            if (status != OK)
                return status;
            doc->root_is_null = 1;
            return OK;
        }
        status = node_start(doc, &event->start_mark, &is_key, options);
        if (status != OK)
            return status;
        PyObject *value = scalar(event, is_key, options, &status);
        if (value == NULL)
            return status;
        if (is_key) {
            doc->stack[doc->depth - 1].key = value;
            return OK;
        }
        return attach(doc, value);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = event->type == YAML_MAPPING_START_EVENT;
        if (is_map ? (event->data.mapping_start.anchor != NULL || event->data.mapping_start.tag != NULL)
                   : (event->data.sequence_start.anchor != NULL || event->data.sequence_start.tag != NULL))
            return FALLBACK;
        if (doc->depth == 0 && !is_map)
            return FALLBACK;  /* a list as a document */
        if (doc->depth >= options->max_depth || doc->depth >= MAX_STACK)
            return FALLBACK;  /* too deep: the Python path reports it */
        status = node_start(doc, &event->start_mark, &is_key, options);
        if (status != OK)
            return status;
        if (is_key)
            return FALLBACK;  /* a list or mapping as a key */
        PyObject *container = is_map ? PyDict_New() : PyList_New(0);
        if (container == NULL)
            return ERROR;
        Py_INCREF(container);  /* one reference for the frame while it is open */
        status = attach(doc, container);
        if (status != OK) {
            Py_DECREF(container);
            return status;
        }
        frame_t *frame = &doc->stack[doc->depth++];
        frame->obj = container;
        frame->is_map = is_map;
        frame->key = NULL;
        frame->pairs = 0;
        return OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        frame_t *frame = &doc->stack[--doc->depth];
        int duplicate = frame->is_map && PyDict_GET_SIZE(frame->obj) != frame->pairs;
        Py_CLEAR(frame->key);
        Py_DECREF(frame->obj);
        return duplicate ? FALLBACK : OK;
    }
    case YAML_ALIAS_EVENT:
        return FALLBACK;
    default:
        return OK;
    }
}

/* A `?` inside a flow collection ([a?b], [? a], {a ?b}) is read differently by libyaml and by
 * go-yaml v2: such a file goes to the Python path, which reports what Kubernetes says. A `?`
 * elsewhere (a CEL expression's `.?field` or `a ? b : c` in a block scalar or a quoted string) does
 * not. Marks count characters, as Python's str does. */
static int
flow_event(const yaml_event_t *event, PyObject *text, int *depth, Py_ssize_t *start)
{
    int opens = event->type == YAML_SEQUENCE_START_EVENT || event->type == YAML_MAPPING_START_EVENT;
    int closes = event->type == YAML_SEQUENCE_END_EVENT || event->type == YAML_MAPPING_END_EVENT;
    if (opens) {
        int flow = event->type == YAML_SEQUENCE_START_EVENT
                       ? event->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE
                       : event->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
        if (*depth > 0 || flow) {  /* (inside a flow collection every collection is one) */
            if ((*depth)++ == 0)
                *start = (Py_ssize_t)event->start_mark.index;
        }
        return OK;
    }
    if (closes && *depth > 0 && --(*depth) == 0) {
        Py_ssize_t end = (Py_ssize_t)event->end_mark.index, length = PyUnicode_GET_LENGTH(text);
        if (end > length || *start > end)
            return FALLBACK;
        Py_ssize_t found = PyUnicode_FindChar(text, '?', *start, end, 1);
        if (found == -2) {
            PyErr_Clear();
            return FALLBACK;
        }
        return found >= 0 ? FALLBACK : OK;
    }
    return OK;
}

static PyObject *
parse(PyObject *module, PyObject *args)
{
    PyObject *text, *first;
    options_t options;
    if (!PyArg_ParseTuple(args, "UOOO!O!Uln:parse", &text, &options.resolve_value, &options.resolve_key,
                          &PyDict_Type, &options.values, &PyDict_Type, &options.keys, &first,
                          &options.max_depth, &options.max_nodes))
        return NULL;
    unsigned char resolved_first[256] = {0};
    Py_ssize_t count = PyUnicode_GET_LENGTH(first);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(first, i);
        if (c < 128)
            resolved_first[c] = 1;
    }
    options.resolved_first = resolved_first;
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    if (data == NULL)
        return NULL;

    PyObject *documents = PyList_New(0);
    if (documents == NULL)
        return NULL;
    document_t *doc = PyMem_Calloc(1, sizeof(document_t));
    if (doc == NULL) {
        Py_DECREF(documents);
        return PyErr_NoMemory();
    }
    yaml_parser_t parser;
    yaml_event_t event;
    if (!yaml_parser_initialize(&parser)) {
        PyMem_Free(doc);
        Py_DECREF(documents);
        return PyErr_NoMemory();
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, (size_t)size);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

    int status = OK, done = 0;
    long index = 0;
    int flow_depth = 0;        /* open flow collections ([...], {...}) */
    Py_ssize_t flow_start = 0; /* where the outermost one opened, in characters */
    while (!done && status == OK) {
        if (!yaml_parser_parse(&parser, &event)) {
            status = FALLBACK;  /* a syntax error: the Python path reports it */
            break;
        }
        switch (event.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (event.data.document_start.version_directive != NULL
                || event.data.document_start.tag_directives.start != event.data.document_start.tag_directives.end)
                status = FALLBACK;
            break;
        case YAML_DOCUMENT_END_EVENT:
            if (doc->root != NULL) {
                PyObject *table = PyBytes_FromStringAndSize((const char *)doc->table.bytes,
                                                            (Py_ssize_t)doc->table.length);
                PyObject *entry = table ? Py_BuildValue("(lOO)", index, doc->root, table) : NULL;
                Py_XDECREF(table);
                if (entry == NULL || PyList_Append(documents, entry) < 0)
                    status = ERROR;
                Py_XDECREF(entry);
            }
            document_clear(doc);
            index++;
            break;
        default:
            status = on_event(doc, &event, &options);
            if (status == OK)
                status = flow_event(&event, text, &flow_depth, &flow_start);
        }
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    document_clear(doc);
    PyMem_Free(doc->table.bytes);
    PyMem_Free(doc);
    if (status == ERROR) {
        Py_DECREF(documents);
        return NULL;
    }
    if (status == FALLBACK) {
        Py_DECREF(documents);
        Py_RETURN_NONE;
    }
    return documents;
}

static PyObject *
libyaml_version(PyObject *module, PyObject *unused)
{
    int major, minor, patch;
    yaml_get_version(&major, &minor, &patch);
    return Py_BuildValue("(iii)", major, minor, patch);
}

/* Whether a mapping anywhere in `obj` (dicts and lists, as the loader builds them) has a null
   value. Deeper than MAX_NULL_DEPTH: answered yes, and the caller's own walk decides. */
#define MAX_NULL_DEPTH 512

static int
contains_null(PyObject *obj, int depth)
{
    if (depth > MAX_NULL_DEPTH)
        return 1;
    if (PyDict_CheckExact(obj)) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(obj, &pos, &key, &value)) {
            if (value == Py_None)
                return 1;
            if ((PyDict_CheckExact(value) || PyList_CheckExact(value)) && contains_null(value, depth + 1))
                return 1;
        }
    } else if (PyList_CheckExact(obj)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(obj); i++) {
            PyObject *item = PyList_GET_ITEM(obj, i);
            if ((PyDict_CheckExact(item) || PyList_CheckExact(item)) && contains_null(item, depth + 1))
                return 1;
        }
    }
    return 0;
}

static PyObject *
has_null(PyObject *module, PyObject *obj)
{
    return PyBool_FromLong(contains_null(obj, 0));
}


/* Each manifest's type metadata, held as the plain attributes wavegate.manifest.Manifest would
   work out from its data when first read (api_version, kind, group, version, metadata, name,
   namespace, annotations, labels), with the same values: set at once for a whole repository,
   where computing them one by one as the checks first ask costs a Python call each. An attribute
   already held is kept. */
static PyObject *held_names[9];

static int
hold(PyObject *dict, int which, PyObject *value)
{
    if (value == NULL)
        return -1;
    PyObject *kept = PyDict_SetDefault(dict, held_names[which], value);
    Py_DECREF(value);
    return kept == NULL ? -1 : 0;
}

static PyObject *
text_or(PyObject *mapping, const char *key, PyObject *otherwise)
{
    PyObject *value = PyDict_GetItemString(mapping, key);  /* (borrowed; the keys are plain text) */
    if (value != NULL && PyUnicode_Check(value)) {
        Py_INCREF(value);
        return value;
    }
    Py_INCREF(otherwise);
    return otherwise;
}

static PyObject *
dict_or_new(PyObject *mapping, const char *key)
{
    PyObject *value = PyDict_GetItemString(mapping, key);
    if (value != NULL && PyDict_Check(value)) {
        Py_INCREF(value);
        return value;
    }
    return PyDict_New();
}

/* What str.rpartition("/") gives of an apiVersion: its group (part 0) or its version (part 1). */
static PyObject *
api_version_part(PyObject *api_version, int part)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(api_version);
    Py_ssize_t slash = PyUnicode_FindChar(api_version, '/', 0, length, -1);
    if (slash == -2)
        return NULL;
    if (slash == -1)
        return part == 0 ? PyUnicode_FromString("") : (Py_INCREF(api_version), api_version);
    return part == 0 ? PyUnicode_Substring(api_version, 0, slash) : PyUnicode_Substring(api_version, slash + 1, length);
}

static int
hold_one(PyObject *manifest, PyObject *empty)
{
    PyObject *dict = PyObject_GenericGetDict(manifest, NULL);
    if (dict == NULL)
        return -1;
    int failed = -1;
    PyObject *data = PyDict_GetItemString(dict, "data");
    if (data == NULL || !PyDict_CheckExact(data)) {  /* (not what the loader makes: left to the properties) */
        failed = 0;
        goto done;
    }
    PyObject *api_version = text_or(data, "apiVersion", empty);
    Py_INCREF(api_version);  /* (held below, and split after) */
    int held_types = hold(dict, 0, api_version) || hold(dict, 1, text_or(data, "kind", empty))
        || hold(dict, 2, api_version_part(api_version, 0)) || hold(dict, 3, api_version_part(api_version, 1));
    Py_DECREF(api_version);
    if (held_types)
        goto done;
    PyObject *metadata = dict_or_new(data, "metadata");
    /* (the metadata held, when it was held already, is the one the rest is read from) */
    PyObject *held = PyDict_SetDefault(dict, held_names[4], metadata);
    if (held == NULL)
        goto done_metadata;
    if (hold(dict, 5, text_or(held, "name", Py_None)) || hold(dict, 6, text_or(held, "namespace", Py_None))
            || hold(dict, 7, dict_or_new(held, "annotations")) || hold(dict, 8, dict_or_new(held, "labels")))
        goto done_metadata;
    failed = 0;
done_metadata:
    Py_DECREF(metadata);
done:
    Py_DECREF(dict);
    return failed;
}

static PyObject *
hold_type_metadata(PyObject *module, PyObject *manifests)
{
    PyObject *items = PySequence_Fast(manifests, "hold_type_metadata takes a list of manifests");
    if (items == NULL)
        return NULL;
    PyObject *empty = PyUnicode_FromString("");
    for (Py_ssize_t i = 0; empty != NULL && i < PySequence_Fast_GET_SIZE(items); i++) {
        if (hold_one(PySequence_Fast_GET_ITEM(items, i), empty) < 0) {
            Py_CLEAR(empty);
        }
    }
    Py_DECREF(items);
    if (empty == NULL)
        return NULL;
    Py_DECREF(empty);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"has_null", has_null, METH_O,
     "has_null(data) -> whether a mapping anywhere in the data has a null value."},
    {"parse", parse, METH_VARARGS,
     "parse(text, resolve_value, resolve_key, values, keys, resolved_first, max_depth, max_nodes)\n"
     "-> [(document index, data, position table)] of the file's mapping documents, or None when the\n"
     "Python path must read it."},
    {"libyaml_version", libyaml_version, METH_NOARGS, "The (major, minor, patch) of the libyaml linked."},
    {"hold_type_metadata", hold_type_metadata, METH_O,
     "hold_type_metadata(manifests) -> None: each manifest's type metadata, held as its attributes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "wavegate._native_loader", "wavegate.load's native half (libyaml).", -1, methods,
};

PyMODINIT_FUNC
PyInit__native_loader(void)
{
    static const char *names[9] = {"api_version", "kind", "group", "version", "metadata", "name", "namespace",
                                   "annotations", "labels"};
    for (int i = 0; i < 9; i++) {
        held_names[i] = PyUnicode_InternFromString(names[i]);
        if (held_names[i] == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
