/* The native half of wavegate.cache.tree_state: one walk of a repository's folders, every file's
 * lstat, with the interpreter's lock released.
 *
 * A run answered from the cache does nothing but this walk, and on 10,000 files the Python walk
 * (os.scandir, DirEntry.stat) cost 0.15 s of which the system calls were 0.08 s. Here the walk is
 * split between two threads (the folders found are shared through one stack), and the Python
 * objects are built once at the end.
 *
 * scan(top, skipped, not_inputs) -> [(prefix, listed, entries, simple)] or None when `top` cannot
 * be listed. `prefix` is the folder's path relative to `top` with a trailing "/" ("" for `top`),
 * decoded as os.fsdecode decodes; `listed` is False when the folder could not be listed; `entries`
 * packs its entries in one bytes object (folder_object), each with a kind: "d" (a folder, walked
 * unless its name is in `not_inputs`), "l" (a symbolic link: not followed; the caller looks at
 * it), "f" (anything else, lstat-ed) or "e" (lstat failed). The folder whose prefix is `skipped`
 * (the cache's own) is not listed at all. Packed, the entries cost one object per folder: a run
 * answered from the cache hashes them and decodes none.
 *
 * listing(top, not_inputs) -> ({folder: entries}, unreadable) or None: the same walk without a
 * stat of each file (the directory's own types), for wavegate.discovery.Listing on a run without a
 * cache: each folder as Listing.entries lists it with os.scandir (see there), 80 ms in Python on
 * 10,000 files and 3,000 folders before the loader's workers could start.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __APPLE__
#define MTIME_NS(status) ((long long)(status).st_mtimespec.tv_sec * 1000000000LL + (status).st_mtimespec.tv_nsec)
#else
#define MTIME_NS(status) ((long long)(status).st_mtim.tv_sec * 1000000000LL + (status).st_mtim.tv_nsec)
#endif

typedef struct {
    char *name;
    char kind;
    long long size, mtime_ns;
    unsigned long long inode;
    unsigned int mode;
    char target_dir, target_file; /* (listing: what a link or a regular entry is, links followed) */
} Entry;

typedef struct {
    char *prefix; /* relative, with a trailing '/' ("" for the top) */
    int listed;
    int error; /* errno of a folder that could not be listed */
    Entry *entries;
    size_t count, capacity;
} Folder;

typedef struct {
    const char *top;
    const char *skipped;
    int stat_files; /* scan: each file's lstat; listing: the types the folder gives, links followed */
    char **not_inputs;
    size_t not_inputs_count;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    Folder **pending; /* folders found and not yet listed */
    size_t pending_count, pending_capacity;
    Folder **done;
    size_t done_count, done_capacity;
    int busy; /* threads listing a folder now */
    int failed; /* out of memory */
} Walk;

static int
push(Folder ***items, size_t *count, size_t *capacity, Folder *folder)
{
    if (*count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 64;
        Folder **bigger = realloc(*items, grown * sizeof(Folder *));
        if (bigger == NULL)
            return -1;
        *items = bigger;
        *capacity = grown;
    }
    (*items)[(*count)++] = folder;
    return 0;
}

static Folder *
new_folder(const char *prefix)
{
    Folder *folder = calloc(1, sizeof(Folder));
    if (folder == NULL)
        return NULL;
    folder->prefix = strdup(prefix);
    if (folder->prefix == NULL) {
        free(folder);
        return NULL;
    }
    return folder;
}

static void
free_folder(Folder *folder)
{
    for (size_t i = 0; i < folder->count; i++)
        free(folder->entries[i].name);
    free(folder->entries);
    free(folder->prefix);
    free(folder);
}

static int
not_an_input(Walk *walk, const char *name)
{
    for (size_t i = 0; i < walk->not_inputs_count; i++)
        if (strcmp(walk->not_inputs[i], name) == 0)
            return 1;
    return 0;
}

/* List one folder; the folders in it go on the walk's stack. Returns -1 when out of memory. */
static int
list_folder(Walk *walk, Folder *folder)
{
    size_t top_length = strlen(walk->top), prefix_length = strlen(folder->prefix);
    char *path = malloc(top_length + prefix_length + 2);
    if (path == NULL)
        return -1;
    memcpy(path, walk->top, top_length);
    path[top_length] = '/';
    memcpy(path + top_length + 1, folder->prefix, prefix_length + 1);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (prefix_length ? O_NOFOLLOW : 0));
    free(path);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (dir == NULL) {
        folder->error = errno;
        if (fd >= 0)
            close(fd);
        return 0;
    }
    folder->listed = 1;
    struct dirent *found;
    while ((found = readdir(dir)) != NULL) {
        const char *name = found->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        if (folder->count == folder->capacity) {
            size_t grown = folder->capacity ? folder->capacity * 2 : 16;
            Entry *bigger = realloc(folder->entries, grown * sizeof(Entry));
            if (bigger == NULL)
                goto out_of_memory;
            folder->entries = bigger;
            folder->capacity = grown;
        }
        Entry *entry = &folder->entries[folder->count];
        memset(entry, 0, sizeof(Entry));
        entry->name = strdup(name);
        if (entry->name == NULL)
            goto out_of_memory;
        folder->count++;
        unsigned char type = found->d_type;
        struct stat status;
        if (!walk->stat_files && type != DT_UNKNOWN) {
            if (type == DT_LNK) {
                entry->kind = 'l';
                if (fstatat(dirfd(dir), name, &status, 0) == 0) {
                    entry->target_dir = S_ISDIR(status.st_mode) != 0;
                    entry->target_file = S_ISREG(status.st_mode) != 0;
                }
                continue;
            }
            if (type != DT_DIR) {
                entry->kind = 'f';
                entry->target_file = type == DT_REG;
                continue;
            }
        } else if (!walk->stat_files) { /* DT_UNKNOWN: what lstat says, then as above */
            if (fstatat(dirfd(dir), name, &status, AT_SYMLINK_NOFOLLOW) != 0) {
                entry->kind = 'e';
                continue;
            }
            if (S_ISLNK(status.st_mode)) {
                entry->kind = 'l';
                if (fstatat(dirfd(dir), name, &status, 0) == 0) {
                    entry->target_dir = S_ISDIR(status.st_mode) != 0;
                    entry->target_file = S_ISREG(status.st_mode) != 0;
                }
                continue;
            }
            if (!S_ISDIR(status.st_mode)) {
                entry->kind = 'f';
                entry->target_file = S_ISREG(status.st_mode) != 0;
                continue;
            }
            type = DT_DIR;
        }
        if (walk->stat_files && (type == DT_UNKNOWN || (type != DT_DIR && type != DT_LNK))) {
            if (fstatat(dirfd(dir), name, &status, AT_SYMLINK_NOFOLLOW) != 0) {
                entry->kind = 'e';
                continue;
            }
            type = S_ISDIR(status.st_mode) ? DT_DIR : S_ISLNK(status.st_mode) ? DT_LNK : DT_REG;
            if (type == DT_REG) {
                entry->kind = 'f';
                entry->size = (long long)status.st_size;
                entry->mtime_ns = MTIME_NS(status);
                entry->inode = (unsigned long long)status.st_ino;
                entry->mode = (unsigned int)status.st_mode;
                continue;
            }
        }
        if (type == DT_LNK) {
            entry->kind = 'l';
            continue;
        }
        entry->kind = 'd';
        if (not_an_input(walk, name))
            continue;
        size_t name_length = strlen(name);
        char *inner = malloc(prefix_length + name_length + 2);
        if (inner == NULL)
            goto out_of_memory;
        memcpy(inner, folder->prefix, prefix_length);
        memcpy(inner + prefix_length, name, name_length);
        inner[prefix_length + name_length] = '/';
        inner[prefix_length + name_length + 1] = '\0';
        if (walk->skipped != NULL && strcmp(inner, walk->skipped) == 0) {
            free(inner);
            continue;
        }
        Folder *next = new_folder(inner);
        free(inner);
        if (next == NULL)
            goto out_of_memory;
        pthread_mutex_lock(&walk->lock);
        int pushed = push(&walk->pending, &walk->pending_count, &walk->pending_capacity, next);
        pthread_cond_signal(&walk->wake);
        pthread_mutex_unlock(&walk->lock);
        if (pushed != 0) {
            free_folder(next);
            goto out_of_memory;
        }
    }
    closedir(dir);
    return 0;
out_of_memory:
    closedir(dir);
    return -1;
}

static void *
worker(void *argument)
{
    Walk *walk = argument;
    pthread_mutex_lock(&walk->lock);
    for (;;) {
        while (walk->pending_count == 0 && walk->busy > 0 && !walk->failed)
            pthread_cond_wait(&walk->wake, &walk->lock);
        if (walk->pending_count == 0 || walk->failed)
            break;
        Folder *folder = walk->pending[--walk->pending_count];
        walk->busy++;
        pthread_mutex_unlock(&walk->lock);
        int listed = list_folder(walk, folder);
        pthread_mutex_lock(&walk->lock);
        walk->busy--;
        if (listed != 0 || push(&walk->done, &walk->done_count, &walk->done_capacity, folder) != 0) {
            walk->failed = 1;
            free_folder(folder);
        }
        pthread_cond_broadcast(&walk->wake);
    }
    pthread_cond_broadcast(&walk->wake);
    pthread_mutex_unlock(&walk->lock);
    return NULL;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name);
}

static void
put_u64(unsigned char *out, unsigned long long value)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(value >> (8 * i));
}

/* (prefix, listed, entries, simple): the entries packed in one bytes object, by name (bytewise),
 * each as NAME \0 KIND SIZE MTIME_NS INODE MODE (little-endian, 8+8+8+4 bytes). `simple` is
 * True when every entry is a folder or a regular file (their stats tell their contents). */
static PyObject *
folder_object(Folder *folder)
{
    qsort(folder->entries, folder->count, sizeof(Entry), by_name);
    size_t length = 0;
    int simple = 1;
    for (size_t i = 0; i < folder->count; i++) {
        Entry *entry = &folder->entries[i];
        length += strlen(entry->name) + 1 + 1 + 8 + 8 + 8 + 4;
        if (!(entry->kind == 'd' || (entry->kind == 'f' && S_ISREG(entry->mode))))
            simple = 0;
    }
    PyObject *blob = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)length);
    if (blob == NULL)
        return NULL;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(blob);
    for (size_t i = 0; i < folder->count; i++) {
        Entry *entry = &folder->entries[i];
        size_t name_length = strlen(entry->name);
        memcpy(out, entry->name, name_length + 1);
        out += name_length + 1;
        *out++ = (unsigned char)entry->kind;
        put_u64(out, (unsigned long long)entry->size);
        put_u64(out + 8, (unsigned long long)entry->mtime_ns);
        put_u64(out + 16, entry->inode);
        for (int b = 0; b < 4; b++)
            out[24 + b] = (unsigned char)(entry->mode >> (8 * b));
        out += 28;
    }
    PyObject *prefix = PyUnicode_DecodeFSDefault(folder->prefix);
    if (prefix == NULL) {
        Py_DECREF(blob);
        return NULL;
    }
    return Py_BuildValue("(NONO)", prefix, folder->listed ? Py_True : Py_False, blob,
                         simple ? Py_True : Py_False);
}

#define THREADS 2

/* The walk from `top` (walk->top, not_inputs and skipped set), on THREADS threads without the
 * interpreter's lock; `not_inputs_object` names the folders not walked into. Returns 0, or -1 with
 * an exception set; the caller frees the folders (free_walk) either way. */
static int
walk_all(Walk *walk, PyObject *not_inputs_object, PyObject **not_inputs)
{
    *not_inputs = PySequence_Fast(not_inputs_object, "not_inputs must be a sequence of folder names");
    if (*not_inputs == NULL)
        return -1;
    walk->not_inputs_count = (size_t)PySequence_Fast_GET_SIZE(*not_inputs);
    walk->not_inputs = calloc(walk->not_inputs_count + 1, sizeof(char *));
    if (walk->not_inputs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < walk->not_inputs_count; i++) {
        const char *name = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(*not_inputs, (Py_ssize_t)i));
        if (name == NULL)
            return -1;
        walk->not_inputs[i] = (char *)name; /* owned by the sequence, which outlives the walk */
    }
    Folder *root = new_folder("");
    if (root == NULL || push(&walk->pending, &walk->pending_count, &walk->pending_capacity, root) != 0) {
        if (root != NULL)
            free_folder(root);
        PyErr_NoMemory();
        return -1;
    }
    pthread_mutex_init(&walk->lock, NULL);
    pthread_cond_init(&walk->wake, NULL);
    Py_BEGIN_ALLOW_THREADS
    pthread_t threads[THREADS - 1];
    int started = 0;
    for (int i = 0; i < THREADS - 1; i++)
        if (pthread_create(&threads[i], NULL, worker, walk) == 0)
            started++;
    worker(walk);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    Py_END_ALLOW_THREADS
    pthread_mutex_destroy(&walk->lock);
    pthread_cond_destroy(&walk->wake);
    if (walk->failed) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
free_walk(Walk *walk, PyObject *not_inputs)
{
    for (size_t i = 0; i < walk->done_count; i++)
        free_folder(walk->done[i]);
    for (size_t i = 0; i < walk->pending_count; i++)
        free_folder(walk->pending[i]);
    free(walk->done);
    free(walk->pending);
    free(walk->not_inputs);
    Py_XDECREF(not_inputs);
}

static int
top_listed(Walk *walk)
{
    for (size_t i = 0; i < walk->done_count; i++)
        if (walk->done[i]->prefix[0] == '\0')
            return walk->done[i]->listed;
    return 0;
}

static PyObject *
scan(PyObject *module, PyObject *args)
{
    PyObject *top_object, *skipped_object, *not_inputs_object;
    if (!PyArg_ParseTuple(args, "O&OO", PyUnicode_FSConverter, &top_object, &skipped_object, &not_inputs_object))
        return NULL;
    PyObject *result = NULL, *not_inputs = NULL, *skipped_bytes = NULL;
    Walk walk;
    memset(&walk, 0, sizeof(walk));
    walk.top = PyBytes_AS_STRING(top_object);
    walk.stat_files = 1;
    if (skipped_object != Py_None) {
        if (!PyUnicode_FSConverter(skipped_object, &skipped_bytes))
            goto done;
        walk.skipped = PyBytes_AS_STRING(skipped_bytes);
    }
    if (walk_all(&walk, not_inputs_object, &not_inputs) != 0)
        goto done;
    if (!top_listed(&walk)) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    result = PyList_New((Py_ssize_t)walk.done_count);
    if (result == NULL)
        goto done;
    for (size_t i = 0; i < walk.done_count; i++) {
        PyObject *item = folder_object(walk.done[i]);
        if (item == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, item);
    }
done:
    free_walk(&walk, not_inputs);
    Py_XDECREF(skipped_bytes);
    Py_DECREF(top_object);
    return result;
}

/* One folder as Listing.entries gives it: [(name, is a directory, is one without following a
 * link, is a link, is a file)], sorted as Python sorts them. */
static PyObject *
listing_entries(Folder *folder)
{
    PyObject *entries = PyList_New((Py_ssize_t)folder->count);
    if (entries == NULL)
        return NULL;
    for (size_t i = 0; i < folder->count; i++) {
        Entry *entry = &folder->entries[i];
        PyObject *name = PyUnicode_DecodeFSDefault(entry->name);
        if (name == NULL) {
            Py_DECREF(entries);
            return NULL;
        }
        int link = entry->kind == 'l';
        int is_dir = link ? entry->target_dir : entry->kind == 'd';
        int is_file = link ? entry->target_file : (entry->kind == 'f' && entry->target_file);
        PyObject *item = Py_BuildValue("(NOOOO)", name, is_dir ? Py_True : Py_False,
                                       (!link && is_dir) ? Py_True : Py_False, link ? Py_True : Py_False,
                                       is_file ? Py_True : Py_False);
        if (item == NULL) {
            Py_DECREF(entries);
            return NULL;
        }
        PyList_SET_ITEM(entries, (Py_ssize_t)i, item);
    }
    if (PyList_Sort(entries) != 0) {
        Py_DECREF(entries);
        return NULL;
    }
    return entries;
}

static PyObject *
listing(PyObject *module, PyObject *args)
{
    PyObject *top_object, *not_inputs_object;
    if (!PyArg_ParseTuple(args, "O&O", PyUnicode_FSConverter, &top_object, &not_inputs_object))
        return NULL;
    PyObject *result = NULL, *not_inputs = NULL, *folders = NULL, *unreadable = NULL;
    Walk walk;
    memset(&walk, 0, sizeof(walk));
    walk.top = PyBytes_AS_STRING(top_object);
    if (walk_all(&walk, not_inputs_object, &not_inputs) != 0)
        goto done;
    if (!top_listed(&walk)) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    folders = PyDict_New();
    unreadable = PySet_New(NULL);
    if (folders == NULL || unreadable == NULL)
        goto done;
    for (size_t i = 0; i < walk.done_count; i++) {
        Folder *folder = walk.done[i];
        size_t length = strlen(folder->prefix);
        PyObject *key = PyUnicode_DecodeFSDefaultAndSize(folder->prefix, (Py_ssize_t)(length ? length - 1 : 0));
        if (key == NULL)
            goto done;
        /* (as Listing.entries: a folder that cannot be listed has no entries, and is unreadable
           unless it has gone or is no folder) */
        PyObject *entries = folder->listed ? listing_entries(folder) : PyList_New(0);
        int failed = entries == NULL || PyDict_SetItem(folders, key, entries) != 0;
        if (!failed && !folder->listed && folder->error != ENOENT && folder->error != ENOTDIR
                && folder->error != ENAMETOOLONG)
            failed = PySet_Add(unreadable, key) != 0;
        Py_XDECREF(entries);
        Py_DECREF(key);
        if (failed)
            goto done;
    }
    result = Py_BuildValue("(OO)", folders, unreadable);
done:
    Py_XDECREF(folders);
    Py_XDECREF(unreadable);
    free_walk(&walk, not_inputs);
    Py_DECREF(top_object);
    return result;
}

static unsigned long long
get_u64(const unsigned char *in)
{
    unsigned long long value = 0;
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | in[i];
    return value;
}

/* One packed entry (folder_object's layout: the name, NUL, then kind, size, mtime_ns, inode and mode)
 * at *at, which moves past it; 0 when what is there is not one. */
typedef struct {
    const char *name;
    Py_ssize_t name_length;
    char kind;
    long long size, mtime_ns;
    unsigned long long inode;
    unsigned int mode;
} Packed;

static int
next_packed(const unsigned char **at, const unsigned char *end, Packed *out)
{
    const unsigned char *nul = memchr(*at, 0, (size_t)(end - *at));
    if (nul == NULL || end - (nul + 1) < 29)
        return 0;
    const unsigned char *fields = nul + 1;
    out->name = (const char *)*at;
    out->name_length = (Py_ssize_t)(nul - *at);
    out->kind = (char)fields[0];
    out->size = (long long)get_u64(fields + 1);
    out->mtime_ns = (long long)get_u64(fields + 9);
    out->inode = get_u64(fields + 17);
    out->mode = 0;
    for (int b = 3; b >= 0; b--)
        out->mode = (out->mode << 8) | fields[25 + b];
    *at = fields + 29;
    return 1;
}

/* unpack(entries) -> [(name, kind, (size, mtime_ns, inode), mode)]: what folder_object packed. */
static PyObject *
unpack(PyObject *module, PyObject *blob)
{
    if (!PyBytes_Check(blob)) {
        PyErr_SetString(PyExc_TypeError, "unpack() takes the bytes scan() gave");
        return NULL;
    }
    const unsigned char *at = (const unsigned char *)PyBytes_AS_STRING(blob);
    const unsigned char *end = at + PyBytes_GET_SIZE(blob);
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    Packed entry;
    while (at < end) {
        if (!next_packed(&at, end, &entry)) {
            Py_DECREF(found);
            PyErr_SetString(PyExc_ValueError, "not what scan() packs");
            return NULL;
        }
        PyObject *name = PyUnicode_DecodeFSDefaultAndSize(entry.name, entry.name_length);
        PyObject *item = name == NULL ? NULL : Py_BuildValue(
            "(NC(LLK)I)", name, (int)entry.kind, entry.size, entry.mtime_ns, entry.inode, entry.mode);
        if (item == NULL || PyList_Append(found, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(found);
            return NULL;
        }
        Py_DECREF(item);
    }
    return found;
}

/* Whether `previous` (a known file's (size, mtime_ns, inode, ...)) holds these three values. */
static int
same_stat(PyObject *previous, long long size, long long mtime_ns, unsigned long long inode)
{
    if (previous == NULL || !PyTuple_Check(previous) || PyTuple_GET_SIZE(previous) < 3)
        return 0;
    PyObject *items[3] = {PyTuple_GET_ITEM(previous, 0), PyTuple_GET_ITEM(previous, 1), PyTuple_GET_ITEM(previous, 2)};
    for (int i = 0; i < 3; i++)
        if (!PyLong_CheckExact(items[i]))
            return 0;
    int overflow = 0;
    long long known_size = PyLong_AsLongLongAndOverflow(items[0], &overflow);
    if (overflow || known_size != size)
        return 0;
    long long known_mtime = PyLong_AsLongLongAndOverflow(items[1], &overflow);
    if (overflow || known_mtime != mtime_ns)
        return 0;
    unsigned long long known_inode = PyLong_AsUnsignedLongLong(items[2]);
    if (known_inode == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return known_inode == inode;
}

/* compare(walked, known, limit) -> (stats, changed, others): tree_state's look at every entry, for
 * the regular files. A regular file whose (size, mtime_ns, inode) is the one `known` holds and
 * whose mtime_ns is below `limit` keeps its known entry in `stats`; another regular file is in
 * `changed` as (rel, (size, mtime_ns, inode)); every other entry but a folder (a link, a named
 * pipe, one that could not be lstat-ed) is in `others` as unpack() gives it, with its rel path
 * first. */
static PyObject *
compare(PyObject *module, PyObject *args)
{
    PyObject *walked, *known;
    long long limit;
    if (!PyArg_ParseTuple(args, "O!O!L", &PyList_Type, &walked, &PyDict_Type, &known, &limit))
        return NULL;
    PyObject *stats = PyDict_New(), *changed = PyList_New(0), *others = PyList_New(0);
    if (stats == NULL || changed == NULL || others == NULL)
        goto fail;
    for (Py_ssize_t f = 0; f < PyList_GET_SIZE(walked); f++) {
        PyObject *folder = PyList_GET_ITEM(walked, f);
        if (!PyTuple_Check(folder) || PyTuple_GET_SIZE(folder) < 2 || !PyUnicode_Check(PyTuple_GET_ITEM(folder, 0))
                || !PyBytes_Check(PyTuple_GET_ITEM(folder, 1))) {
            PyErr_SetString(PyExc_TypeError, "compare() takes the folders scan() gave, as (prefix, entries, ...)");
            goto fail;
        }
        PyObject *prefix = PyTuple_GET_ITEM(folder, 0), *blob = PyTuple_GET_ITEM(folder, 1);
        const unsigned char *at = (const unsigned char *)PyBytes_AS_STRING(blob);
        const unsigned char *end = at + PyBytes_GET_SIZE(blob);
        Packed entry;
        while (at < end) {
            if (!next_packed(&at, end, &entry)) {
                PyErr_SetString(PyExc_ValueError, "not what scan() packs");
                goto fail;
            }
            if (entry.kind == 'd') /* (the walk has been into it already) */
                continue;
            PyObject *name = PyUnicode_DecodeFSDefaultAndSize(entry.name, entry.name_length);
            PyObject *rel = name == NULL ? NULL : PyUnicode_Concat(prefix, name);
            Py_XDECREF(name);
            if (rel == NULL)
                goto fail;
            int added;
            if (entry.kind == 'f' && S_ISREG(entry.mode)) {
                PyObject *previous = PyDict_GetItemWithError(known, rel); /* borrowed */
                if (previous == NULL && PyErr_Occurred()) {
                    Py_DECREF(rel);
                    goto fail;
                }
                if (entry.mtime_ns < limit && same_stat(previous, entry.size, entry.mtime_ns, entry.inode)) {
                    added = PyDict_SetItem(stats, rel, previous);
                } else {
                    PyObject *item = Py_BuildValue("(O(LLK))", rel, entry.size, entry.mtime_ns, entry.inode);
                    added = item == NULL ? -1 : PyList_Append(changed, item);
                    Py_XDECREF(item);
                }
            } else {
                PyObject *item = Py_BuildValue("(OC(LLK)I)", rel, (int)entry.kind, entry.size, entry.mtime_ns,
                                               entry.inode, entry.mode);
                added = item == NULL ? -1 : PyList_Append(others, item);
                Py_XDECREF(item);
            }
            Py_DECREF(rel);
            if (added < 0)
                goto fail;
        }
    }
    return Py_BuildValue("(NNN)", stats, changed, others);
fail:
    Py_XDECREF(stats);
    Py_XDECREF(changed);
    Py_XDECREF(others);
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(top, skipped, not_inputs) -> [(prefix, listed, packed entries, simple)], or None when top cannot be\n"
     "listed (see _native_tree.c)."},
    {"listing", listing, METH_VARARGS,
     "listing(top, not_inputs) -> ({folder: [(name, is_dir, is_dir_itself, is_link, is_file)]}, unreadable folders),\n"
     "or None when top cannot be listed: the folders as wavegate.discovery.Listing lists them (see _native_tree.c)."},
    {"unpack", unpack, METH_O,
     "unpack(entries) -> [(name, kind, (size, mtime_ns, inode), mode)] of what scan() packed for a folder."},
    {"compare", compare, METH_VARARGS,
     "compare(walked, known, limit) -> (stats, changed, others): the regular files whose stat is known and\n"
     "older than limit, the other regular files, and every other entry (see _native_tree.c)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "wavegate._native_tree", "wavegate.cache's native half (the repository walk).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__native_tree(void)
{
    return PyModule_Create(&module);
}
