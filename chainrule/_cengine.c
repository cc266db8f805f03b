/* chainrule._cengine: the optional C accelerator of chainrule's engine.
 *
 * What a node holds and what the backward walk does is specified once, in the module docstring of
 * chainrule/_graph.py, and implemented there in Python: that is the reference, and the fallback for every
 * case this file does not take. This file implements the same specification for the common cases:
 *
 *   - Node: a C type with the reference Node's attributes (parents stored inline for up to two, so that
 *     a recorded node is one object for the cyclic collector instead of two);
 *   - the record path of Primitive.__call__ (PrimitiveBase.tp_call) for a single-output primitive with
 *     no compile tape, no debugging and no tracing/profiling hook; anything else calls the Python
 *     reference (`_python_call`), before the forward runs, so that behaviour and messages are the
 *     reference's by construction;
 *   - the walk of Tensor.backward without create_graph (walk): nodes in descending creation number, the
 *     rules called as the Python functions they are; a node off the fast case goes through the Python
 *     `_propagate`;
 *   - the lock books of saved arrays (lock, unlock), on the same dictionaries and under the same RLock as
 *     the Python `_lock`/`_unlock`, so that either may release what the other locked.
 *
 * Python objects (Tensor, Primitive, _Mode are classes with __slots__) are read through their slots'
 * offsets, found once in setup() from the classes' member descriptors and checked there.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* ---- NumPy's array struct, without NumPy's headers ----------------------------------------------------
 * The leading fields of PyArrayObject_fields (numpy/ndarraytypes.h), stable across NumPy 1.x and 2.x.
 * Building against NumPy's headers would make NumPy a build requirement; instead setup() checks this
 * layout against live arrays and refuses to start the engine if it does not match. */
typedef struct {
    PyObject_HEAD
    char *data;
    int nd;
    Py_ssize_t *dimensions;
    Py_ssize_t *strides;
    PyObject *base;
    PyObject *descr;
    int flags;
} ArrayFields;

#define ARRAY(o) ((ArrayFields *)(o))
#define NPY_OWNDATA 0x0004
#define NPY_WRITEABLE 0x0400
#define NPY_WARN_ON_WRITE (1u << 31)

/* ---- what setup() finds ------------------------------------------------------------------------------ */
static int ready = 0;
static PyTypeObject *ndarray_type, *generic_type, *tensor_type, *primitive_type, *mode_type, *node_type;
static PyTypeObject *locking_node_type;
static PyObject *asarray, *shape_class, *state_var, *sharers, *orphans, *acquire, *release_lock;
static PyObject *python_call, *forward_failed, *conform, *modified, *py_propagate, *unavailable;
static PyObject *no_kwargs, *small_limit_obj;
static Py_ssize_t small_limit = 64;
static PyObject *str_sum, *kwnames_axis;
static PyObject *str_ans, *str_setflags, *str_vjp, *str_derivative_rule, *str_name, *str_class;
static PyObject *empty_tuple, *zero;
static PyObject *position_tuples[8];     /* (i,) */
static PyObject *position_pairs[8][8];   /* (i, j), made on first use */

/* slot offsets */
static Py_ssize_t t_data, t_requires_grad, t_grad, t_node, t_version, t_name;
static Py_ssize_t p_forward, p_vjps, p_missing_rules, p_differentiable, p_n_outputs, p_saves, p_unusual, p_acyclic;
static Py_ssize_t m_grad_enabled, m_debug, m_tape;

#define SLOT(o, off) (*(PyObject **)((char *)(o) + (off)))

static long long next_seq_value = 0;  /* creation numbers: the GIL makes the increment atomic */

/* ---- Node ---------------------------------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    PyObject *primitive;
    Py_ssize_t n_parents;       /* parents inline in parent[] when parents_tuple is NULL */
    PyObject *parent[2];
    PyObject *parents_tuple;    /* the parents when there are more than two */
    PyObject *positions, *args, *kwargs, *value, *locked, *versions, *site, *name;
    long long seq;
    PyObject *weakreflist;
    char open;                  /* it may lead back to its descendants, so onto a cycle (see is_inert) */
    char closed;                /* this node and every node it reaches are tracked (see track_graph) */
} NodeObject;

#define NODE(o) ((NodeObject *)(o))
#define IS_NODE(o) PyObject_TypeCheck((o), node_type)

static inline Py_ssize_t node_n_parents(NodeObject *n) {
    return n->parents_tuple ? PyTuple_GET_SIZE(n->parents_tuple) : n->n_parents;
}

static inline PyObject *node_parent(NodeObject *n, Py_ssize_t i) {
    return n->parents_tuple ? PyTuple_GET_ITEM(n->parents_tuple, i) : n->parent[i];
}

static void node_clear_parents(NodeObject *n) {
    PyObject *a = n->parent[0], *b = n->parent[1], *t = n->parents_tuple;
    n->parent[0] = n->parent[1] = NULL;
    n->parents_tuple = NULL;
    n->n_parents = 0;
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(t);
}

/* Store a tuple of parents (a new reference is taken of what is kept). */
static int node_set_parents_tuple(NodeObject *n, PyObject *parents) {
    if (!PyTuple_Check(parents)) {
        PyErr_Format(PyExc_TypeError, "chainrule: Node.parents must be a tuple, not %.100s",
                     Py_TYPE(parents)->tp_name);
        return -1;
    }
    Py_ssize_t k = PyTuple_GET_SIZE(parents);
    PyObject *old_a = n->parent[0], *old_b = n->parent[1], *old_t = n->parents_tuple;
    n->parent[0] = n->parent[1] = NULL;
    n->parents_tuple = NULL;
    if (k <= 2) {
        for (Py_ssize_t i = 0; i < k; i++) {
            n->parent[i] = Py_NewRef(PyTuple_GET_ITEM(parents, i));
        }
        n->n_parents = k;
    } else {
        n->parents_tuple = Py_NewRef(parents);
        n->n_parents = k;
    }
    Py_XDECREF(old_a);
    Py_XDECREF(old_b);
    Py_XDECREF(old_t);
    return 0;
}

static PyObject *node_get_parents(NodeObject *n, void *closure) {
    if (n->parents_tuple) {
        return Py_NewRef(n->parents_tuple);
    }
    PyObject *t = PyTuple_New(n->n_parents);
    if (t == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n->n_parents; i++) {
        PyTuple_SET_ITEM(t, i, Py_NewRef(n->parent[i]));
    }
    return t;
}

/* site and name: text or None. (The other fields are the engine's: read-only, so that a node the engine
 * keeps out of the cyclic collector cannot be given a reference back into its graph.) */
static PyObject *node_get_text(NodeObject *n, void *offset) {
    PyObject *value = *(PyObject **)((char *)n + (Py_ssize_t)offset);
    return Py_NewRef(value ? value : Py_None);
}

static int node_set_text(NodeObject *n, PyObject *value, void *offset) {
    if (value == NULL || (value != Py_None && !PyUnicode_Check(value))) {
        PyErr_Format(PyExc_TypeError, "chainrule: a Node's site and name are str or None, not %.100s",
                     value ? Py_TYPE(value)->tp_name : "deleted");
        return -1;
    }
    Py_XSETREF(*(PyObject **)((char *)n + (Py_ssize_t)offset), Py_NewRef(value));
    return 0;
}

static PyObject *node_get_released(NodeObject *n, void *closure) {
    return PyBool_FromLong(n->args == Py_None);
}

/* A tuple none of whose items the collector tracks need not be tracked either: the collector would
 * untrack it at its first pass anyway; doing it now keeps it out of that pass. */
static void untrack_if_atomic(PyObject *tuple) {
    Py_ssize_t k = PyTuple_GET_SIZE(tuple);
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        if (PyObject_IS_GC(item) && (!PyTuple_CheckExact(item) || PyObject_GC_IsTracked(item))) {
            return;
        }
    }
    if (PyObject_GC_IsTracked(tuple)) {
        PyObject_GC_UnTrack(tuple);
    }
}

/* ---- keeping nodes out of the cyclic collector ----------------------------------------------------------
 * The collector finds garbage cycles among the objects it tracks; an object that can never be on a cycle
 * need not be tracked, and a node the collector does not track costs nothing in its collections (a graph
 * of 10^6 nodes otherwise makes each full collection walk 10^6 nodes). A node recorded here can be on a
 * cycle only through something it holds that leads back to one of its descendants. Nodes lead only to older
 * nodes (their parents), so such a path must leave the nodes somewhere among its ancestors: through a leaf
 * Tensor parent, or an argument, keyword or value of some other kind, or the primitive. A node is *open*
 * (node_is_open) when it or any node it reaches could give such a path:
 *   - its primitive is not one of the rule table's (``acyclic``: library functions, no user closures),
 *   - a leaf parent is not a plain Tensor (a subclass with a __dict__ or slots of its own), or
 *   - it holds something not inert: inert are untracked objects (arrays, numbers, strings), Shapes, tuples
 *     and slices of inert objects, keywords whose values are inert;
 *   - or a parent node is open.
 * A node that is not open is recorded untracked. A plain leaf leads back into graphs only through
 * ``.grad``: the Tensor.grad descriptor below tracks every node reachable from a grad that is a Tensor with a
 * graph (create_graph=True makes those) before it is stored. Node fields are read-only from Python except
 * site and name (text), so nothing else can add such a path. */
static int is_inert(PyObject *o, int depth) {
    if (!PyObject_IS_GC(o) || Py_IS_TYPE(o, (PyTypeObject *)shape_class) || o == no_kwargs) {
        return 1;
    }
    if (depth > 2) {
        return 0;
    }
    if (PyTuple_CheckExact(o)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(o); i++) {
            if (!is_inert(PyTuple_GET_ITEM(o, i), depth + 1)) {
                return 0;
            }
        }
        return 1;
    }
    if (PySlice_Check(o)) {
        PySliceObject *slice = (PySliceObject *)o;
        return is_inert(slice->start, depth + 1) && is_inert(slice->stop, depth + 1)
               && is_inert(slice->step, depth + 1);
    }
    if (PyDict_CheckExact(o)) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(o, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key) || !is_inert(value, depth + 1)) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}

static inline int is_plain_leaf(PyObject *t) {
    PyTypeObject *type = Py_TYPE(t);
    return type == tensor_type
           || (type->tp_dictoffset == 0 && type->tp_basicsize == tensor_type->tp_basicsize
               && PyType_IsSubtype(type, tensor_type));
}

/* Whether a node may lead back to one of its descendants: it holds something that is not inert, or a leaf
 * parent that is not a plain Tensor, or its primitive is not the rule table's, or a parent node is open. */
static int node_is_open(NodeObject *n) {
    if (n->primitive == NULL || !PyObject_TypeCheck(n->primitive, primitive_type)
        || SLOT(n->primitive, p_acyclic) != Py_True || !is_inert(n->args, 0) || !is_inert(n->kwargs, 0)
        || !is_inert(n->value, 0) || (n->locked && !is_inert(n->locked, 0))) {
        return 1;
    }
    Py_ssize_t k = node_n_parents(n);
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *parent = node_parent(n, i);
        if (IS_NODE(parent) ? NODE(parent)->open : !is_plain_leaf(parent)) {
            return 1;
        }
    }
    return 0;
}

/* Track every node reachable from `root` (iteratively: graphs can be 10^6 nodes deep). A node marked
 * `closed` has been through here with all it reaches, so the search stops there. */
static int track_graph(PyObject *root) {
    if (!IS_NODE(root) || NODE(root)->closed) {
        return 0;
    }
    PyObject *stack = PyList_New(0);
    if (stack == NULL || PyList_Append(stack, root) < 0) {
        Py_XDECREF(stack);
        return -1;
    }
    NODE(root)->closed = 1;
    while (PyList_GET_SIZE(stack)) {
        Py_ssize_t top = PyList_GET_SIZE(stack) - 1;
        NodeObject *n = (NodeObject *)Py_NewRef(PyList_GET_ITEM(stack, top));
        if (PyList_SetSlice(stack, top, top + 1, NULL) < 0) {
            Py_DECREF(n);
            Py_DECREF(stack);
            return -1;
        }
        if (!PyObject_GC_IsTracked((PyObject *)n)) {
            PyObject_GC_Track((PyObject *)n);
        }
        Py_ssize_t k = node_n_parents(n);
        for (Py_ssize_t i = 0; i < k; i++) {
            PyObject *parent = node_parent(n, i);
            if (IS_NODE(parent) && !NODE(parent)->closed) {
                NODE(parent)->closed = 1;
                if (PyList_Append(stack, parent) < 0) {
                    Py_DECREF(n);
                    Py_DECREF(stack);
                    return -1;
                }
            }
        }
        Py_DECREF(n);
    }
    Py_DECREF(stack);
    return 0;
}

static PyObject *track_graph_function(PyObject *module, PyObject *node) {
    if (track_graph(node) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Tensor.grad and Tensor.name: the same slots, read and written as before, behind one check each that keeps
 * untracked nodes off cycles (see above): a Tensor with a graph stored in .grad first has every node it
 * reaches tracked; a name is text or None (any other object could lead from a leaf back into its graph). */
typedef struct {
    PyObject_HEAD
    int is_grad;  /* 1: Tensor.grad, 0: Tensor.name */
} TensorSlotObject;

static inline Py_ssize_t tensor_slot_offset(PyObject *self) {
    return ((TensorSlotObject *)self)->is_grad ? t_grad : t_name;
}

static inline const char *tensor_slot_name(PyObject *self) {
    return ((TensorSlotObject *)self)->is_grad ? "grad" : "name";
}

static PyObject *tensor_slot_get(PyObject *self, PyObject *obj, PyObject *type) {
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    if (!PyObject_TypeCheck(obj, tensor_type)) {
        PyErr_Format(PyExc_TypeError, "chainrule: Tensor.%s of a %.100s", tensor_slot_name(self),
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyObject *value = SLOT(obj, tensor_slot_offset(self));
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, tensor_slot_name(self));
        return NULL;
    }
    return Py_NewRef(value);
}

static int tensor_slot_set(PyObject *self, PyObject *obj, PyObject *value) {
    if (!PyObject_TypeCheck(obj, tensor_type)) {
        PyErr_Format(PyExc_TypeError, "chainrule: Tensor.%s of a %.100s", tensor_slot_name(self),
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (((TensorSlotObject *)self)->is_grad) {
        if (value != NULL && PyObject_TypeCheck(value, tensor_type)) {
            PyObject *node = SLOT(value, t_node);
            if (node != NULL && track_graph(node) < 0) {
                return -1;
            }
        }
    } else if (value != NULL && value != Py_None && !PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "chainrule: Tensor.name must be a str or None, not %.100s",
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    Py_XSETREF(SLOT(obj, tensor_slot_offset(self)), Py_XNewRef(value));
    return 0;
}

static PyType_Slot tensor_slot_slots[] = {
    {Py_tp_descr_get, tensor_slot_get},
    {Py_tp_descr_set, tensor_slot_set},
    {Py_tp_doc, "Tensor.grad (the gradient accumulated by backward(): an ndarray, or a Tensor after "
                "create_graph=True) or Tensor.name (a label, str or None), as the C engine keeps them."},
    {0, NULL}
};

static PyType_Spec tensor_slot_spec = {
    "chainrule._cengine.TensorSlot", sizeof(TensorSlotObject), 0, Py_TPFLAGS_DEFAULT, tensor_slot_slots
};

static int node_init(NodeObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"primitive", "parents", "positions", "args", "kwargs", "value", "locked",
                             "versions", NULL};
    PyObject *primitive, *parents, *positions, *a, *kw, *value, *locked = empty_tuple, *versions = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOO|OO:Node", kwlist, &primitive, &parents, &positions,
                                     &a, &kw, &value, &locked, &versions)) {
        return -1;
    }
    if (node_set_parents_tuple(self, parents) < 0) {
        return -1;
    }
    Py_XSETREF(self->primitive, Py_NewRef(primitive));
    Py_XSETREF(self->positions, Py_NewRef(positions));
    Py_XSETREF(self->args, Py_NewRef(a));
    Py_XSETREF(self->kwargs, Py_NewRef(kw));
    Py_XSETREF(self->value, Py_NewRef(value));
    Py_XSETREF(self->locked, Py_NewRef(locked));
    Py_XSETREF(self->versions, Py_NewRef(versions));
    Py_XSETREF(self->site, Py_NewRef(Py_None));
    Py_XSETREF(self->name, Py_NewRef(Py_None));
    self->seq = next_seq_value++;
    self->open = node_is_open(self);  /* (a node made here stays tracked; only its descendants may not be) */
    return 0;
}

static int node_traverse(NodeObject *self, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->primitive);
    Py_VISIT(self->parent[0]);
    Py_VISIT(self->parent[1]);
    Py_VISIT(self->parents_tuple);
    Py_VISIT(self->positions);
    Py_VISIT(self->args);
    Py_VISIT(self->kwargs);
    Py_VISIT(self->value);
    Py_VISIT(self->locked);
    Py_VISIT(self->versions);
    Py_VISIT(self->site);
    Py_VISIT(self->name);
    return 0;
}

static int node_clear(NodeObject *self) {
    node_clear_parents(self);
    Py_CLEAR(self->primitive);
    Py_CLEAR(self->positions);
    Py_CLEAR(self->args);
    Py_CLEAR(self->kwargs);
    Py_CLEAR(self->value);
    Py_CLEAR(self->locked);
    Py_CLEAR(self->versions);
    Py_CLEAR(self->site);
    Py_CLEAR(self->name);
    return 0;
}

static void node_dealloc(NodeObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    /* A chain of 10^6 nodes frees each node's parent from inside its own dealloc: the trashcan turns
     * that recursion into a loop. */
    Py_TRASHCAN_BEGIN(self, node_dealloc)
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    node_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
    Py_TRASHCAN_END
}

static int unlock_arrays(PyObject *locked);

static PyObject *node_unlock_method(NodeObject *self, PyObject *unused) {
    PyObject *locked = self->locked;
    if (locked != NULL && locked != empty_tuple) {
        int truth = PyObject_IsTrue(locked);
        if (truth < 0) {
            return NULL;
        }
        if (truth) {
            self->locked = Py_NewRef(empty_tuple);
            int status = unlock_arrays(locked);
            Py_DECREF(locked);
            if (status < 0) {
                return NULL;
            }
        }
    }
    Py_RETURN_NONE;
}

/* Node.release(): what the reference's release does. */
static int node_release(NodeObject *self) {
    PyObject *locked = self->locked;
    if (locked != NULL && locked != empty_tuple) {
        int truth = PyObject_IsTrue(locked);
        if (truth < 0) {
            return -1;
        }
        if (truth) {
            self->locked = Py_NewRef(empty_tuple);
            /* nothing is left to give back when it dies: no __del__ to call then */
            if (Py_TYPE(self) == locking_node_type) {
                PyTypeObject *old = Py_TYPE(self);
                Py_INCREF(node_type);
                Py_SET_TYPE(self, node_type);
                Py_DECREF(old);
            } else if (Py_TYPE(self) != node_type) {
                if (PyObject_SetAttr((PyObject *)self, str_class, (PyObject *)node_type) < 0) {
                    Py_DECREF(locked);
                    return -1;
                }
            }
            int status = unlock_arrays(locked);
            Py_DECREF(locked);
            if (status < 0) {
                return -1;
            }
        }
    }
    Py_XSETREF(self->args, Py_NewRef(Py_None));
    Py_XSETREF(self->kwargs, Py_NewRef(Py_None));
    Py_XSETREF(self->value, Py_NewRef(Py_None));
    Py_XSETREF(self->versions, Py_NewRef(Py_None));
    node_clear_parents(self);
    Py_XSETREF(self->positions, Py_NewRef(empty_tuple));
    return 0;
}

static PyObject *node_release_method(NodeObject *self, PyObject *unused) {
    if (node_release(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *node_repr(NodeObject *self) {
    PyObject *name = self->primitive ? PyObject_GetAttr(self->primitive, str_name) : NULL;
    if (name == NULL) {
        return NULL;
    }
    PyObject *text = PyUnicode_FromFormat("<Node %S%s>", name, self->args == Py_None ? " (released)" : "");
    Py_DECREF(name);
    return text;
}

static PyMemberDef node_members[] = {
    {"primitive", T_OBJECT_EX, offsetof(NodeObject, primitive), READONLY, NULL},
    {"positions", T_OBJECT_EX, offsetof(NodeObject, positions), READONLY, NULL},
    {"args", T_OBJECT_EX, offsetof(NodeObject, args), READONLY, NULL},
    {"kwargs", T_OBJECT_EX, offsetof(NodeObject, kwargs), READONLY, NULL},
    {"value", T_OBJECT_EX, offsetof(NodeObject, value), READONLY, NULL},
    {"locked", T_OBJECT_EX, offsetof(NodeObject, locked), READONLY, NULL},
    {"versions", T_OBJECT_EX, offsetof(NodeObject, versions), READONLY, NULL},
    {"seq", T_LONGLONG, offsetof(NodeObject, seq), 0, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(NodeObject, weakreflist), READONLY, NULL},
    {NULL}
};

static PyGetSetDef node_getset[] = {
    {"parents", (getter)node_get_parents, NULL, NULL, NULL},
    {"site", (getter)node_get_text, (setter)node_set_text, "Where the user's code recorded it (debugging).",
     (void *)offsetof(NodeObject, site)},
    {"name", (getter)node_get_text, (setter)node_set_text, NULL, (void *)offsetof(NodeObject, name)},
    {"released", (getter)node_get_released, NULL, "Whether a backward pass freed its saved values.", NULL},
    {NULL}
};

static PyMethodDef node_methods[] = {
    {"release", (PyCFunction)node_release_method, METH_NOARGS,
     "Free what the backward pass needed (after a backward without ``retain_graph``)."},
    {"_unlock", (PyCFunction)node_unlock_method, METH_NOARGS, NULL},
    {NULL}
};

static PyType_Slot node_slots[] = {
    {Py_tp_dealloc, node_dealloc},
    {Py_tp_traverse, node_traverse},
    {Py_tp_clear, node_clear},
    {Py_tp_init, node_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_repr, node_repr},
    {Py_tp_members, node_members},
    {Py_tp_getset, node_getset},
    {Py_tp_methods, node_methods},
    {0, NULL}
};

/* A heap type, not immutable: _LockingNode subclasses it, and release() moves a node between the two. */
static PyType_Spec node_spec = {
    "chainrule._graph.Node", sizeof(NodeObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, node_slots
};

/* ---- the lock books (the reference: _graph._lock / _graph._unlock) ----------------------------------- */

static int take_guard(void) {
    PyObject *r = PyObject_CallNoArgs(acquire);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static int drop_guard(void) {
    /* keeps a pending exception: the guard is released on error paths too */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *r = PyObject_CallNoArgs(release_lock);
    if (r == NULL) {
        if (type != NULL) {
            PyErr_Clear();
            PyErr_Restore(type, value, tb);
        }
        return -1;
    }
    Py_DECREF(r);
    PyErr_Restore(type, value, tb);
    return 0;
}

/* Make a locked array writable again: what setflags(write=True) does. An array that owns its data is
 * flipped here; any other goes through setflags, which checks its base (and warns where NumPy warns). */
static int make_writable(PyObject *array) {
    if (ARRAY(array)->flags & NPY_OWNDATA) {
        ARRAY(array)->flags = (ARRAY(array)->flags | NPY_WRITEABLE) & ~(int)NPY_WARN_ON_WRITE;
        return 0;
    }
    PyObject *r = PyObject_CallMethodOneArg(array, str_setflags, Py_True);
    if (r == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) {
            return -1;
        }
        PyErr_Clear();  /* its base is read-only for a reason of its own */
        return 0;
    }
    Py_DECREF(r);
    return 0;
}

/* The common case of a lock: every array (and every array it views) writable, so that this node owns
 * them all and no book changes. It runs no Python code between the test and the flags (the GIL makes it
 * atomic: every lock and unlock goes through this file in the C engine), so it needs no guard. */
static PyObject *lock_owned(PyObject *const *items, Py_ssize_t n) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        for (PyObject *a = items[i]; a != NULL && Py_IS_TYPE(a, ndarray_type); a = ARRAY(a)->base) {
            if (!(ARRAY(a)->flags & NPY_WRITEABLE)) {
                return NULL;  /* (no error set: take the guarded path) */
            }
            count++;
        }
    }
    PyObject *held = PyTuple_New(count);
    if (held == NULL) {
        return NULL;
    }
    /* (the allocation above may have run a collection, and so other code: test the flags again) */
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        for (PyObject *a = items[i]; a != NULL && Py_IS_TYPE(a, ndarray_type); a = ARRAY(a)->base) {
            if (!(ARRAY(a)->flags & NPY_WRITEABLE) || j == count) {
                for (Py_ssize_t k = 0; k < j; k++) {  /* undo, and take the guarded path */
                    ARRAY(PyTuple_GET_ITEM(held, k))->flags |= NPY_WRITEABLE;
                }
                Py_DECREF(held);
                return NULL;
            }
            ARRAY(a)->flags &= ~(NPY_WRITEABLE | (int)NPY_WARN_ON_WRITE);  /* what setflags(write=False) does */
            PyTuple_SET_ITEM(held, j++, Py_NewRef(a));
        }
    }
    if (j != count) {
        for (Py_ssize_t k = 0; k < j; k++) {
            ARRAY(PyTuple_GET_ITEM(held, k))->flags |= NPY_WRITEABLE;
        }
        Py_DECREF(held);
        return NULL;
    }
    untrack_if_atomic(held);
    return held;
}

/* Lock the arrays among items[0..n) and the arrays they view; return the tuple the node holds. */
static PyObject *lock_arrays(PyObject *const *items, Py_ssize_t n) {
    PyObject *owned_all = lock_owned(items, n);
    if (owned_all != NULL || PyErr_Occurred()) {
        return owned_all;
    }
    PyObject *held_buffer[16];
    PyObject **held = held_buffer;
    Py_ssize_t count = 0, capacity = 16;
    PyObject *result = NULL;
    if (take_guard() < 0) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *array = items[i];
        while (Py_IS_TYPE(array, ndarray_type)) {
            PyObject *h;
            if (ARRAY(array)->flags & NPY_WRITEABLE) {
                /* what setflags(write=False) does */
                ARRAY(array)->flags &= ~(NPY_WRITEABLE | (int)NPY_WARN_ON_WRITE);
                h = Py_NewRef(array);
            } else {
                PyObject *key = PyLong_FromVoidPtr(array);
                if (key == NULL) {
                    goto done;
                }
                PyObject *old = PyDict_GetItemWithError(sharers, key);
                if (old == NULL && PyErr_Occurred()) {
                    Py_DECREF(key);
                    goto done;
                }
                long long value = old ? PyLong_AsLongLong(old) : 0;
                PyObject *updated = PyLong_FromLongLong(value + 1);
                if (updated == NULL || PyDict_SetItem(sharers, key, updated) < 0) {
                    Py_XDECREF(updated);
                    Py_DECREF(key);
                    goto done;
                }
                Py_DECREF(updated);
                Py_DECREF(key);
                /* (allocating after the books are straight: a collection here may run a node's __del__) */
                h = PyTuple_Pack(1, array);
                if (h == NULL) {
                    goto done;
                }
            }
            if (count == capacity) {
                PyObject **bigger = PyMem_Malloc(sizeof(PyObject *) * capacity * 2);
                if (bigger == NULL) {
                    Py_DECREF(h);
                    PyErr_NoMemory();
                    goto done;
                }
                memcpy(bigger, held, sizeof(PyObject *) * count);
                if (held != held_buffer) {
                    PyMem_Free(held);
                }
                held = bigger;
                capacity *= 2;
            }
            held[count++] = h;
            array = ARRAY(array)->base;
            if (array == NULL) {
                break;
            }
        }
    }
    result = PyTuple_New(count);
    if (result != NULL) {
        for (Py_ssize_t i = 0; i < count; i++) {
            PyTuple_SET_ITEM(result, i, held[i]);
        }
        count = 0;
    }
done:
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_DECREF(held[i]);
    }
    if (held != held_buffer) {
        PyMem_Free(held);
    }
    if (drop_guard() < 0) {
        Py_CLEAR(result);
    }
    return result;
}

/* This graph no longer holds `locked`; arrays no other graph holds become writable. */
static int unlock_arrays(PyObject *locked) {
    if (!PyTuple_Check(locked)) {
        PyErr_SetString(PyExc_TypeError, "chainrule: Node.locked must be a tuple");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(locked);
    if (PyDict_GET_SIZE(sharers) == 0) {
        /* The common case: no array is shared, so this node owns all it holds. Making them writable runs no
         * Python code (see lock_owned), so it needs no guard either. */
        int plain = 1;
        for (Py_ssize_t i = 0; i < n && plain; i++) {
            plain = !PyTuple_CheckExact(PyTuple_GET_ITEM(locked, i))
                    && (ARRAY(PyTuple_GET_ITEM(locked, i))->flags & NPY_OWNDATA);
        }
        if (plain) {
            for (Py_ssize_t i = n - 1; i >= 0; i--) {
                make_writable(PyTuple_GET_ITEM(locked, i));
            }
            return 0;
        }
    }
    int status = -1;
    if (take_guard() < 0) {
        return -1;
    }
    for (Py_ssize_t i = n - 1; i >= 0; i--) {  /* bases first */
        PyObject *held = PyTuple_GET_ITEM(locked, i), *array;
        if (PyTuple_CheckExact(held)) {  /* a sharer leaves */
            array = PyTuple_GET_ITEM(held, 0);
            PyObject *key = PyLong_FromVoidPtr(array);
            if (key == NULL) {
                goto done;
            }
            PyObject *old = PyDict_GetItemWithError(sharers, key);
            if (old == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetObject(PyExc_KeyError, key);
                }
                Py_DECREF(key);
                goto done;
            }
            long long count = PyLong_AsLongLong(old) - 1;
            if (count) {
                PyObject *updated = PyLong_FromLongLong(count);
                int r = updated ? PyDict_SetItem(sharers, key, updated) : -1;
                Py_XDECREF(updated);
                Py_DECREF(key);
                if (r < 0) {
                    goto done;
                }
                continue;
            }
            if (PyDict_DelItem(sharers, key) < 0) {
                Py_DECREF(key);
                goto done;
            }
            PyObject *orphan = PyDict_GetItemWithError(orphans, key);
            if (orphan == NULL) {
                Py_DECREF(key);
                if (PyErr_Occurred()) {
                    goto done;
                }
                continue;
            }
            Py_INCREF(orphan);  /* (the orphan's array is `array` itself) */
            if (PyDict_DelItem(orphans, key) < 0) {
                Py_DECREF(orphan);
                Py_DECREF(key);
                goto done;
            }
            Py_DECREF(key);
            int status_w = orphan == Py_None ? 0 : make_writable(array);
            Py_DECREF(orphan);
            if (status_w < 0) {
                goto done;
            }
            continue;
        } else {
            if (PyDict_GET_SIZE(sharers)) {
                PyObject *key = PyLong_FromVoidPtr(held);
                if (key == NULL) {
                    goto done;
                }
                int shared = PyDict_Contains(sharers, key);
                if (shared < 0 || (shared && PyDict_SetItem(orphans, key, held) < 0)) {
                    Py_DECREF(key);
                    goto done;
                }
                Py_DECREF(key);
                if (shared) {  /* the owner leaves first */
                    continue;
                }
            }
            array = held;
        }
        if (make_writable(array) < 0) {
            goto done;
        }
    }
    status = 0;
done:
    if (drop_guard() < 0) {
        status = -1;
    }
    return status;
}

static PyObject *lock_function(PyObject *module, PyObject *arrays) {
    if (!PyTuple_Check(arrays)) {
        PyErr_SetString(PyExc_TypeError, "chainrule._cengine.lock: a tuple of arrays");
        return NULL;
    }
    return lock_arrays(&PyTuple_GET_ITEM(arrays, 0), PyTuple_GET_SIZE(arrays));
}

static PyObject *unlock_function(PyObject *module, PyObject *locked) {
    if (unlock_arrays(locked) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- the calling thread's mode ------------------------------------------------------------------------ */
typedef struct {
    int grad_enabled;
    long debug;
    int has_tape;
} ModeView;

static PyObject *cached_mode = NULL;  /* modes are immutable: decode each one once */
static ModeView cached_view;
static int current_mode(ModeView *view) {
    PyObject *mode;
    if (PyContextVar_Get(state_var, NULL, &mode) < 0) {
        return -1;
    }
    if (mode == NULL || !PyObject_TypeCheck(mode, mode_type)) {
        Py_XDECREF(mode);
        PyErr_SetString(PyExc_RuntimeError, "chainrule: the mode in this context is not a chainrule._graph._Mode");
        return -1;
    }
    if (mode != cached_mode) {
        PyObject *g = SLOT(mode, m_grad_enabled), *d = SLOT(mode, m_debug), *t = SLOT(mode, m_tape);
        if (g == NULL || d == NULL || t == NULL) {
            Py_DECREF(mode);
            PyErr_SetString(PyExc_RuntimeError, "chainrule: an incomplete mode");
            return -1;
        }
        int truth = PyObject_IsTrue(g);
        long debug = PyLong_Check(d) ? PyLong_AsLong(d) : (PyObject_IsTrue(d) ? 1 : 0);
        if (truth < 0 || (debug == -1 && PyErr_Occurred())) {
            Py_DECREF(mode);
            return -1;
        }
        cached_view.grad_enabled = truth;
        cached_view.debug = debug;
        cached_view.has_tape = t != Py_None;
        Py_XSETREF(cached_mode, Py_NewRef(mode));
    }
    Py_DECREF(mode);
    *view = cached_view;
    return 0;
}

/* ---- the record path (the reference: Primitive.__call__) --------------------------------------------- */

static PyObject *call_reference(PyObject *self, PyObject *args, PyObject *kwargs) {
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *full = PyTuple_New(n + 1);
    if (full == NULL) {
        return NULL;
    }
    PyTuple_SET_ITEM(full, 0, Py_NewRef(self));
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(full, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
    }
    PyObject *out = PyObject_Call(python_call, full, kwargs);
    Py_DECREF(full);
    return out;
}

static inline Py_ssize_t array_size(PyObject *a) {
    Py_ssize_t size = 1;
    for (int i = 0; i < ARRAY(a)->nd; i++) {
        size *= ARRAY(a)->dimensions[i];
    }
    return size;
}

static PyObject *new_tensor(PyObject *data, int requires_grad, PyObject *node) {
    PyObject *t = tensor_type->tp_alloc(tensor_type, 0);
    if (t == NULL) {
        return NULL;
    }
    SLOT(t, t_data) = Py_NewRef(data);
    SLOT(t, t_requires_grad) = Py_NewRef(requires_grad ? Py_True : Py_False);
    SLOT(t, t_grad) = Py_NewRef(Py_None);
    SLOT(t, t_node) = Py_NewRef(node);
    SLOT(t, t_version) = Py_NewRef(zero);
    SLOT(t, t_name) = Py_NewRef(Py_None);
    return t;
}

static PyObject *positions_tuple(const Py_ssize_t *positions, Py_ssize_t k) {
    if (k == 1 && positions[0] < 8) {
        return Py_NewRef(position_tuples[positions[0]]);
    }
    if (k == 2 && positions[0] < 8 && positions[1] < 8) {
        PyObject **slot = &position_pairs[positions[0]][positions[1]];
        if (*slot == NULL) {
            *slot = Py_BuildValue("(nn)", positions[0], positions[1]);
            if (*slot == NULL) {
                return NULL;
            }
        }
        return Py_NewRef(*slot);
    }
    PyObject *t = PyTuple_New(k);
    if (t == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *p = PyLong_FromSsize_t(positions[i]);
        if (p == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, p);
    }
    return t;
}

#define STACK_ARGS 8

static PyObject *primitive_call(PyObject *self, PyObject *args, PyObject *kwargs) {
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "chainrule._cengine: setup() was not called");
        return NULL;
    }
    PyThreadState *ts = PyThreadState_Get();
    if (ts->c_profilefunc != NULL || ts->c_tracefunc != NULL) {
        /* a profiler or tracer (chainrule.viz's recorder, coverage, a debugger) sees the Python frames */
        return call_reference(self, args, kwargs);
    }
    if (!PyObject_TypeCheck(self, primitive_type)) {
        return call_reference(self, args, kwargs);
    }
    ModeView mode;
    if (current_mode(&mode) < 0) {
        return NULL;
    }
    PyObject *n_outputs = SLOT(self, p_n_outputs), *differentiable = SLOT(self, p_differentiable);
    PyObject *forward = SLOT(self, p_forward);
    if (mode.has_tape || mode.debug || n_outputs == NULL || differentiable == NULL || forward == NULL
        || !PyLong_CheckExact(n_outputs) || PyLong_AsLong(n_outputs) != 1) {
        PyErr_Clear();
        return call_reference(self, args, kwargs);
    }
    int record = 0;
    if (mode.grad_enabled) {
        record = PyObject_IsTrue(differentiable);
        if (record < 0) {
            return NULL;
        }
    }
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    /* parents, positions, versions: on the stack for the usual few arguments */
    PyObject *parents_buffer[STACK_ARGS];
    Py_ssize_t positions_buffer[STACK_ARGS];
    long long versions_buffer[STACK_ARGS];
    PyObject **parents = parents_buffer;
    Py_ssize_t *positions = positions_buffer;
    long long *versions = versions_buffer;
    if (n > STACK_ARGS) {
        parents = PyMem_Malloc(sizeof(PyObject *) * n);
        positions = PyMem_Malloc(sizeof(Py_ssize_t) * n);
        versions = PyMem_Malloc(sizeof(long long) * n);
        if (parents == NULL || positions == NULL || versions == NULL) {
            PyMem_Free(parents);
            PyMem_Free(positions);
            PyMem_Free(versions);
            return PyErr_NoMemory();
        }
    }
    Py_ssize_t k = 0;     /* parents found (borrowed: the arguments keep them alive) */
    int any_leaf = 0;
    PyObject *raw = NULL, *out = NULL, *result = NULL, *kept_value = NULL;
    PyObject *node = NULL, *locked = NULL, *positions_obj = NULL, *versions_obj = NULL;

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (!PyObject_TypeCheck(a, tensor_type)) {
            continue;
        }
        PyObject *data = SLOT(a, t_data), *requires = SLOT(a, t_requires_grad);
        if (data == NULL || requires == NULL) {
            goto reference;  /* a Tensor without its slots set: let the reference say so */
        }
        if (raw == NULL) {
            raw = PyTuple_New(n);
            if (raw == NULL) {
                goto finish;
            }
            for (Py_ssize_t j = 0; j < n; j++) {
                PyTuple_SET_ITEM(raw, j, Py_NewRef(PyTuple_GET_ITEM(args, j)));
            }
        }
        Py_SETREF(PyTuple_GET_ITEM(raw, i), Py_NewRef(data));
        if (!record) {
            continue;
        }
        int requires_grad = requires == Py_True ? 1 : (requires == Py_False ? 0 : PyObject_IsTrue(requires));
        if (requires_grad < 0) {
            goto finish;
        }
        if (!requires_grad) {
            continue;
        }
        PyObject *a_node = SLOT(a, t_node);
        if (a_node == NULL) {
            goto reference;
        }
        if (a_node == Py_None) {
            PyObject *version = SLOT(a, t_version);
            if (version == NULL || !PyLong_CheckExact(version)) {
                goto reference;
            }
            versions[k] = PyLong_AsLongLong(version);
            if (versions[k] == -1 && PyErr_Occurred()) {
                goto finish;
            }
            any_leaf = 1;
            parents[k] = a;
        } else {
            versions[k] = -1;
            parents[k] = a_node;
        }
        positions[k] = i;
        k++;
    }

    out = PyObject_Call(forward, raw ? raw : args, kwargs);
    if (out == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            goto finish;
        }
        /* the reference's except clause: lists holding Tensors, another library's arrays, the message */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL) {
            PyException_SetTraceback(value, tb);
        }
        Py_XDECREF(type);
        Py_XDECREF(tb);
        result = PyObject_CallFunctionObjArgs(forward_failed, self, args, raw ? raw : Py_None,
                                              kwargs ? kwargs : no_kwargs, value, NULL);
        Py_DECREF(value);
        goto finish;
    }
    if (raw == NULL) {  /* no Tensor among the arguments: plain arrays in, plain arrays out */
        result = out;
        out = NULL;
        goto finish;
    }
    if (!Py_IS_TYPE(out, ndarray_type) && PyObject_TypeCheck(out, generic_type)) {
        /* a reduction's NumPy scalar: Tensors hold arrays */
        Py_SETREF(out, PyObject_CallOneArg(asarray, out));
        if (out == NULL) {
            goto finish;
        }
    }
    if (k == 0) {
        if (Py_IS_TYPE(out, ndarray_type)) {
            result = new_tensor(out, 0, Py_None);
        } else {
            result = PyObject_CallOneArg((PyObject *)tensor_type, out);
        }
        goto finish;
    }
    PyObject *missing = SLOT(self, p_missing_rules);
    int missing_rules = missing == NULL ? 0 : PyObject_IsTrue(missing);
    if (missing_rules < 0) {
        goto finish;
    }
    if (missing_rules) {  /* fail now, not in the backward pass, if a rule is missing */
        for (Py_ssize_t j = 0; j < k; j++) {
            PyObject *index = PyLong_FromSsize_t(positions[j]);
            PyObject *r = index ? PyObject_CallMethodOneArg(self, str_vjp, index) : NULL;
            Py_XDECREF(index);
            if (r == NULL) {
                goto finish;
            }
            Py_DECREF(r);
        }
    }
    /* Arrays saved for the backward pass are made read-only while the graph lives (see _graph). */
    PyObject *saves = SLOT(self, p_saves);
    PyObject *kept_buffer[STACK_ARGS + 1];
    PyObject **kept = kept_buffer;
    Py_ssize_t n_kept = 0;
    if (n + 1 > STACK_ARGS + 1 || (PyTuple_CheckExact(out) && (saves == NULL || saves == Py_None))) {
        Py_ssize_t extra = PyTuple_CheckExact(out) ? PyTuple_GET_SIZE(out) : 1;
        kept = PyMem_Malloc(sizeof(PyObject *) * (n + extra));
        if (kept == NULL) {
            PyErr_NoMemory();
            goto finish;
        }
    }
    kept_value = Py_NewRef(out);
    if (saves == NULL || saves == Py_None) {  /* keep (and protect) every array */
        for (Py_ssize_t j = 0; j < n; j++) {
            kept[n_kept++] = PyTuple_GET_ITEM(raw, j);
        }
        if (PyTuple_CheckExact(out)) {
            for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(out); j++) {
                kept[n_kept++] = PyTuple_GET_ITEM(out, j);
            }
        } else {
            kept[n_kept++] = out;
        }
    } else {  /* keep and protect what the rules read; of a large array they do not read, only its shape */
        for (Py_ssize_t j = 0; j < n; j++) {
            PyObject *a = PyTuple_GET_ITEM(raw, j);
            if (!Py_IS_TYPE(a, ndarray_type)) {
                continue;
            }
            PyObject *index = PyLong_FromSsize_t(j);
            int read = index ? PySet_Contains(saves, index) : -1;
            Py_XDECREF(index);
            if (read < 0) {
                goto kept_done;
            }
            if (read) {
                kept[n_kept++] = a;
            } else if (array_size(a) > small_limit) {
                PyObject *shape = PyObject_CallOneArg(shape_class, a);
                if (shape == NULL) {
                    goto kept_done;
                }
                Py_SETREF(PyTuple_GET_ITEM(raw, j), shape);
            }
        }
        int keeps_ans = PySet_Contains(saves, str_ans);
        if (keeps_ans < 0) {
            goto kept_done;
        }
        if (keeps_ans) {
            kept[n_kept++] = out;
        } else if (Py_IS_TYPE(out, ndarray_type) && array_size(out) > small_limit) {
            Py_SETREF(kept_value, PyObject_CallOneArg(shape_class, out));
            if (kept_value == NULL) {
                goto kept_done;
            }
        }
    }
    locked = n_kept ? lock_arrays(kept, n_kept) : Py_NewRef(empty_tuple);
kept_done:
    if (kept != kept_buffer) {
        PyMem_Free(kept);
    }
    if (locked == NULL) {
        goto finish;
    }
    positions_obj = positions_tuple(positions, k);
    if (positions_obj == NULL) {
        goto finish;
    }
    if (any_leaf) {
        versions_obj = PyTuple_New(k);
        if (versions_obj == NULL) {
            goto finish;
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            PyObject *v = PyLong_FromLongLong(versions[j]);
            if (v == NULL) {
                goto finish;
            }
            PyTuple_SET_ITEM(versions_obj, j, v);
        }
        untrack_if_atomic(versions_obj);
    } else {
        versions_obj = Py_NewRef(Py_None);
    }
    untrack_if_atomic(raw);
    if (PyTuple_GET_SIZE(locked)) {
        untrack_if_atomic(locked);
    }
    {
        PyTypeObject *type = PyTuple_GET_SIZE(locked) ? locking_node_type : node_type;
        node = type->tp_alloc(type, 0);
        if (node == NULL) {
            goto finish;
        }
        NodeObject *nd = NODE(node);
        nd->primitive = Py_NewRef(self);
        if (k <= 2) {
            for (Py_ssize_t j = 0; j < k; j++) {
                nd->parent[j] = Py_NewRef(parents[j]);
            }
        } else {
            PyObject *t = PyTuple_New(k);
            if (t == NULL) {
                goto finish;
            }
            for (Py_ssize_t j = 0; j < k; j++) {
                PyTuple_SET_ITEM(t, j, Py_NewRef(parents[j]));
            }
            nd->parents_tuple = t;
        }
        nd->n_parents = k;
        nd->positions = positions_obj;
        positions_obj = NULL;
        nd->args = raw;
        raw = NULL;
        if (kwargs != NULL && PyDict_GET_SIZE(kwargs)) {
            nd->kwargs = PyDict_Copy(kwargs);  /* the caller's dict may be passed through **d */
            if (nd->kwargs == NULL) {
                goto finish;
            }
        } else {
            nd->kwargs = Py_NewRef(no_kwargs);
        }
        nd->value = kept_value;
        kept_value = NULL;
        nd->locked = locked;
        locked = NULL;
        nd->versions = versions_obj;
        versions_obj = NULL;
        nd->site = Py_NewRef(Py_None);
        nd->name = Py_NewRef(Py_None);
        nd->seq = next_seq_value++;
        nd->open = node_is_open(nd);
        if (!nd->open) {  /* it can be on no cycle: out of the collector's books (see is_inert) */
            PyObject_GC_UnTrack(node);
        }
    }
    result = new_tensor(out, 1, node);
    goto finish;

reference:
    Py_CLEAR(raw);
    result = call_reference(self, args, kwargs);
finish:
    if (n > STACK_ARGS) {
        PyMem_Free(parents);
        PyMem_Free(positions);
        PyMem_Free(versions);
    }
    Py_XDECREF(raw);
    Py_XDECREF(out);
    Py_XDECREF(kept_value);
    Py_XDECREF(node);
    Py_XDECREF(locked);
    Py_XDECREF(positions_obj);
    Py_XDECREF(versions_obj);
    return result;
}

static PyType_Slot primitive_base_slots[] = {
    {Py_tp_call, primitive_call},
    {Py_tp_doc, "The C record path of chainrule.Primitive (see chainrule/_cengine.c)."},
    {0, NULL}
};

static PyType_Spec primitive_base_spec = {
    "chainrule._cengine.PrimitiveBase", sizeof(PyObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    primitive_base_slots
};

/* ---- the engine's small callable types (Operator, FastCase) ---------------------------------------------
 * Each holds two object references right after its head (a common initial sequence with PairHead), which
 * the collector visits and clears alike. */
typedef struct {
    PyObject_HEAD
    PyObject *first, *second;
} PairHead;

static int pair_traverse(PyObject *self, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((PairHead *)self)->first);
    Py_VISIT(((PairHead *)self)->second);
    return 0;
}

static int pair_clear(PyObject *self) {
    Py_CLEAR(((PairHead *)self)->first);
    Py_CLEAR(((PairHead *)self)->second);
    return 0;
}

static void pair_dealloc(PyObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pair_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* ---- Tensor's operators ---------------------------------------------------------------------------------
 * Operator(module, name, reflected): what `def __mul__(self, other): return _r.multiply(self, other)` does
 * (or `_r.multiply(other, self)` when reflected), without a Python frame per operator. A method descriptor:
 * the interpreter's operator slots call it with (self, other) unbound, and attribute access binds it. The
 * primitive is looked up in the module at each call, as the Python method does. */
typedef struct {
    PyObject_HEAD
    PyObject *module, *name;
    int reflected, unary;
    vectorcallfunc vectorcall;
} OperatorObject;

_Static_assert(offsetof(OperatorObject, module) == offsetof(PairHead, first)
               && offsetof(OperatorObject, name) == offsetof(PairHead, second), "Operator starts as a PairHead");

static PyObject *operator_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    OperatorObject *op = (OperatorObject *)callable;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    Py_ssize_t expected = op->unary ? 1 : 2;
    if (n != expected || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_Format(PyExc_TypeError, "Tensor operator calling chainrule.numpy.%U takes %zd positional "
                     "argument%s (%zd given)", op->name, expected, expected == 1 ? "" : "s", n);
        return NULL;
    }
    PyObject *primitive = PyObject_GetAttr(op->module, op->name);
    if (primitive == NULL) {
        return NULL;
    }
    PyObject *pair[2] = {args[op->reflected ? 1 : 0], op->unary ? NULL : args[op->reflected ? 0 : 1]};
    PyObject *result = PyObject_Vectorcall(primitive, pair, expected, NULL);
    Py_DECREF(primitive);
    return result;
}

static PyObject *operator_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *module, *name;
    int reflected = 0, unary = 0;
    static char *kwlist[] = {"module", "name", "reflected", "unary", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OU|pp:Operator", kwlist, &module, &name, &reflected, &unary)) {
        return NULL;
    }
    OperatorObject *op = (OperatorObject *)type->tp_alloc(type, 0);
    if (op == NULL) {
        return NULL;
    }
    op->module = Py_NewRef(module);
    op->name = Py_NewRef(name);
    op->reflected = reflected;
    op->unary = unary;
    op->vectorcall = operator_vectorcall;
    return (PyObject *)op;
}

static PyObject *operator_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static PyObject *operator_repr(OperatorObject *op) {
    return PyUnicode_FromFormat("<Tensor operator: chainrule.numpy.%U(%s)>", op->name,
                                op->unary ? "self" : (op->reflected ? "other, self" : "self, other"));
}

static PyMemberDef operator_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(OperatorObject, vectorcall), READONLY, NULL},
    {"__name__", T_OBJECT, offsetof(OperatorObject, name), READONLY, NULL},
    {NULL}
};

static PyType_Slot operator_slots[] = {
    {Py_tp_new, operator_new},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, operator_descr_get},
    {Py_tp_repr, operator_repr},
    {Py_tp_traverse, pair_traverse},
    {Py_tp_clear, pair_clear},
    {Py_tp_dealloc, pair_dealloc},
    {Py_tp_members, operator_members},
    {Py_tp_doc, "A Tensor operator that calls a chainrule.numpy primitive (see chainrule/_cengine.c)."},
    {0, NULL}
};

static PyType_Spec operator_spec = {
    "chainrule._cengine.Operator", sizeof(OperatorObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    operator_slots
};

/* ---- the backward walk (the reference: _graph._walk_by_creation and _propagate) ---------------------- */

/* The nodes that have an error signal and are not done yet: a binary heap, newest (largest seq) first.
 * Each entry holds a reference. */
typedef struct {
    NodeObject **items;
    Py_ssize_t size, capacity;
} Heap;

static int heap_push(Heap *h, PyObject *node) {
    if (h->size == h->capacity) {
        Py_ssize_t capacity = h->capacity ? h->capacity * 2 : 64;
        NodeObject **items = PyMem_Realloc(h->items, sizeof(NodeObject *) * capacity);
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        h->items = items;
        h->capacity = capacity;
    }
    NodeObject *n = NODE(Py_NewRef(node));
    Py_ssize_t i = h->size++;
    while (i > 0) {
        Py_ssize_t up = (i - 1) / 2;
        if (h->items[up]->seq >= n->seq) {
            break;
        }
        h->items[i] = h->items[up];
        i = up;
    }
    h->items[i] = n;
    return 0;
}

static NodeObject *heap_pop(Heap *h) {
    NodeObject *top = h->items[0];
    NodeObject *last = h->items[--h->size];
    Py_ssize_t i = 0;
    for (;;) {
        Py_ssize_t child = 2 * i + 1;
        if (child >= h->size) {
            break;
        }
        if (child + 1 < h->size && h->items[child + 1]->seq > h->items[child]->seq) {
            child++;
        }
        if (h->items[child]->seq <= last->seq) {
            break;
        }
        h->items[i] = h->items[child];
        i = child;
    }
    if (h->size) {
        h->items[i] = last;
    }
    return top;
}

static void heap_free(Heap *h) {
    for (Py_ssize_t i = 0; i < h->size; i++) {
        Py_DECREF(h->items[i]);
    }
    PyMem_Free(h->items);
}

static Py_ssize_t s_shape, s_dtype;  /* the slots of a Shape (what a node keeps of an unread array) */

/* Whether an array's dimensions are the tuple `shape`. */
static int dims_equal(PyObject *array, PyObject *shape) {
    int nd = ARRAY(array)->nd;
    if (!PyTuple_CheckExact(shape) || PyTuple_GET_SIZE(shape) != nd) {
        return 0;
    }
    for (int i = 0; i < nd; i++) {
        PyObject *n = PyTuple_GET_ITEM(shape, i);
        if (!PyLong_CheckExact(n) || PyLong_AsSsize_t(n) != ARRAY(array)->dimensions[i]) {
            PyErr_Clear();
            return 0;
        }
    }
    return 1;
}

/* Whether the rule's result can go to the parent as it is: an array of the argument's shape and dtype (the
 * argument, or its Shape). (Otherwise the Python _conform checks and casts it; it returns equal shapes and
 * dtypes unchanged.) */
static inline int conforms(PyObject *ga, PyObject *target) {
    if (!Py_IS_TYPE(ga, ndarray_type)) {
        return 0;
    }
    if (Py_IS_TYPE(target, (PyTypeObject *)shape_class)) {
        PyObject *shape = SLOT(target, s_shape), *dtype = SLOT(target, s_dtype);
        return shape != NULL && dtype == ARRAY(ga)->descr && dims_equal(ga, shape);
    }
    if (!Py_IS_TYPE(target, ndarray_type)) {
        return 0;
    }
    ArrayFields *a = ARRAY(ga), *b = ARRAY(target);
    if (a->nd != b->nd || a->descr != b->descr) {
        return 0;
    }
    for (int i = 0; i < a->nd; i++) {
        if (a->dimensions[i] != b->dimensions[i]) {
            return 0;
        }
    }
    return 1;
}

/* signals.get(parent) is None: give it `ga`, and queue a node parent. */
static int hand_to(PyObject *parent, PyObject *ga, PyObject *signals, PyObject *owned, Heap *heap) {
    PyObject *previous = PyDict_GetItemWithError(signals, parent);
    if (previous == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (previous == NULL || previous == Py_None) {
        if (PyDict_SetItem(signals, parent, ga) < 0) {
            return -1;
        }
        if (!PyObject_TypeCheck(parent, tensor_type)) {
            return heap_push(heap, parent);
        }
        return 0;
    }
    Py_INCREF(previous);
    int status = -1;
    if (owned != Py_None && Py_IS_TYPE(ga, ndarray_type)) {
        PyObject *key = PyLong_FromVoidPtr(previous);
        if (key == NULL) {
            goto done;
        }
        PyObject *owner = PyDict_GetItemWithError(owned, key);
        Py_DECREF(key);
        if (owner == NULL && PyErr_Occurred()) {
            goto done;
        }
        if (owner == parent) {  /* a sum this pass made for this vertex alone: accumulate in place */
            PyObject *r = PyNumber_InPlaceAdd(previous, ga);
            if (r == NULL) {
                goto done;
            }
            Py_DECREF(r);
            status = 0;
            goto done;
        }
    }
    PyObject *total = PyNumber_Add(previous, ga);
    if (total == NULL) {
        goto done;
    }
    if (PyDict_SetItem(signals, parent, total) < 0) {
        Py_DECREF(total);
        goto done;
    }
    if (owned != Py_None && Py_IS_TYPE(total, ndarray_type)) {
        PyObject *key = PyLong_FromVoidPtr(total);
        if (key == NULL || PyDict_SetItem(owned, key, parent) < 0) {
            Py_XDECREF(key);
            Py_DECREF(total);
            goto done;
        }
        Py_DECREF(key);
    }
    Py_DECREF(total);
    status = 0;
done:
    Py_DECREF(previous);
    return status;
}

/* A node off the fast case: the Python _propagate, then the parents it gave a first signal go onto the
 * heap (the reference pushes them itself when given its heap). */
static int propagate_reference(NodeObject *node, PyObject *g, PyObject *signals, PyObject *owned, Heap *heap) {
    Py_ssize_t k = node_n_parents(node);
    PyObject *parents = node_get_parents(node, NULL);
    if (parents == NULL) {
        return -1;
    }
    char waiting_buffer[16];
    char *waiting = k <= 16 ? waiting_buffer : PyMem_Malloc(k);
    if (waiting == NULL) {
        Py_DECREF(parents);
        PyErr_NoMemory();
        return -1;
    }
    int status = -1;
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *parent = PyTuple_GET_ITEM(parents, i);
        PyObject *previous = PyDict_GetItemWithError(signals, parent);
        if (previous == NULL && PyErr_Occurred()) {
            goto done;
        }
        waiting[i] = (previous == NULL || previous == Py_None) && !PyObject_TypeCheck(parent, tensor_type);
    }
    PyObject *r = PyObject_CallFunctionObjArgs(py_propagate, (PyObject *)node, g, signals, Py_False, owned, NULL);
    if (r == NULL) {
        goto done;
    }
    Py_DECREF(r);
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *parent = PyTuple_GET_ITEM(parents, i);
        if (!waiting[i]) {
            continue;
        }
        PyObject *now = PyDict_GetItemWithError(signals, parent);
        if (now == NULL && PyErr_Occurred()) {
            goto done;
        }
        if (now != NULL && now != Py_None) {
            waiting[i] = 0;
            for (Py_ssize_t j = i + 1; j < k; j++) {  /* a parent listed twice is queued once */
                if (PyTuple_GET_ITEM(parents, j) == parent) {
                    waiting[j] = 0;
                }
            }
            if (heap_push(heap, parent) < 0) {
                goto done;
            }
        }
    }
    status = 0;
done:
    if (waiting != waiting_buffer) {
        PyMem_Free(waiting);
    }
    Py_DECREF(parents);
    return status;
}

/* _propagate's fast case: every check made before the first rule runs, so that a node found to be off
 * the fast case goes whole to the reference. */
static int propagate(NodeObject *node, PyObject *g, PyObject *signals, PyObject *owned, Heap *heap, int check) {
    PyObject *primitive = node->primitive, *args = node->args, *kwargs = node->kwargs;
    PyObject *positions = node->positions, *versions = node->versions;
    if (check || primitive == NULL || args == NULL || !PyTuple_CheckExact(args) || positions == NULL
        || !PyTuple_CheckExact(positions) || versions == NULL || kwargs == NULL || node->value == NULL
        || !PyObject_TypeCheck(primitive, primitive_type)) {
        return propagate_reference(node, g, signals, owned, heap);
    }
    PyObject *rules = SLOT(primitive, p_vjps), *unusual = SLOT(primitive, p_unusual);
    Py_ssize_t k = node_n_parents(node);
    if (rules == NULL || unusual == NULL || unusual != Py_False || !PyTuple_CheckExact(rules)
        || PyTuple_GET_SIZE(positions) != k
        || !(kwargs == no_kwargs || PyDict_CheckExact(kwargs))) {
        return propagate_reference(node, g, signals, owned, heap);
    }
    Py_ssize_t n_args = PyTuple_GET_SIZE(args), n_rules = PyTuple_GET_SIZE(rules);
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *p = PyTuple_GET_ITEM(positions, i);
        Py_ssize_t position = PyLong_CheckExact(p) ? PyLong_AsSsize_t(p) : -1;
        if (position < 0 || position >= n_rules || position >= n_args) {
            PyErr_Clear();
            return propagate_reference(node, g, signals, owned, heap);
        }
    }
    if (versions != Py_None) {
        if (!PyTuple_CheckExact(versions) || PyTuple_GET_SIZE(versions) != k) {
            return propagate_reference(node, g, signals, owned, heap);
        }
        for (Py_ssize_t i = 0; i < k; i++) {
            long long version = PyLong_AsLongLong(PyTuple_GET_ITEM(versions, i));
            if (version == -1 && PyErr_Occurred()) {
                return -1;
            }
            if (version < 0) {
                continue;
            }
            PyObject *parent = node_parent(node, i);
            PyObject *now = PyObject_TypeCheck(parent, tensor_type) ? Py_XNewRef(SLOT(parent, t_version))
                                                                   : PyObject_GetAttrString(parent, "_version");
            if (now == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_AttributeError, "_version");
                }
                return -1;
            }
            int same = PyLong_CheckExact(now) ? PyLong_AsLongLong(now) == version : -1;
            if (same < 0) {
                PyObject *v = PyLong_FromLongLong(version);
                same = v ? PyObject_RichCompareBool(now, v, Py_EQ) : -1;
                Py_XDECREF(v);
            }
            Py_DECREF(now);
            if (same < 0) {
                return -1;
            }
            if (!same) {
                PyObject *r = PyObject_CallOneArg(modified, (PyObject *)node);  /* raises */
                Py_XDECREF(r);
                return -1;
            }
        }
    }
    /* the call of each rule: rule(g, ans, *args, **kwargs) */
    PyObject *stack_buffer[STACK_ARGS + 2];
    PyObject **stack = stack_buffer;
    if (n_args + 2 > STACK_ARGS + 2) {
        stack = PyMem_Malloc(sizeof(PyObject *) * (n_args + 2));
        if (stack == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    /* the node may be released or its fields changed by what a rule does: hold what the calls use */
    Py_INCREF(args);
    Py_INCREF(positions);
    Py_INCREF(rules);
    Py_INCREF(kwargs);
    PyObject *ans = Py_NewRef(node->value);
    PyObject *parents = node_get_parents(node, NULL);
    int status = -1;
    if (parents == NULL) {
        goto done;
    }
    stack[0] = g;
    stack[1] = ans;
    for (Py_ssize_t j = 0; j < n_args; j++) {
        stack[j + 2] = PyTuple_GET_ITEM(args, j);
    }
    int with_kwargs = kwargs != no_kwargs && PyDict_GET_SIZE(kwargs);
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t position = PyLong_AsSsize_t(PyTuple_GET_ITEM(positions, i));
        PyObject *rule = PyTuple_GET_ITEM(rules, position);
        PyObject *ga = with_kwargs ? PyObject_VectorcallDict(rule, stack, n_args + 2, kwargs)
                                   : PyObject_Vectorcall(rule, stack, n_args + 2, NULL);
        if (ga == NULL) {
            goto done;
        }
        PyObject *target = PyTuple_GET_ITEM(args, position);  /* the argument as recorded, or its Shape */
        if (!conforms(ga, target)) {
            PyObject *p = PyTuple_GET_ITEM(positions, i);
            Py_SETREF(ga, PyObject_CallFunctionObjArgs(conform, ga, target, primitive, p, NULL));
            if (ga == NULL) {
                goto done;
            }
        }
        int r = hand_to(PyTuple_GET_ITEM(parents, i), ga, signals, owned, heap);
        Py_DECREF(ga);
        if (r < 0) {
            goto done;
        }
    }
    status = 0;
done:
    if (stack != stack_buffer) {
        PyMem_Free(stack);
    }
    Py_XDECREF(parents);
    Py_DECREF(ans);
    Py_DECREF(args);
    Py_DECREF(positions);
    Py_DECREF(rules);
    Py_DECREF(kwargs);
    return status;
}

/* A rule raised: the reference's except clause (another library's arrays get a NamespaceError). */
static void rule_failed(NodeObject *node, PyObject *g) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (!PyErr_GivenExceptionMatches(type, PyExc_Exception)) {
        PyErr_Restore(type, value, tb);
        return;
    }
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    PyObject *name = node->primitive ? PyObject_GetAttr(node->primitive, str_name) : NULL;
    PyObject *arrays = NULL;
    if (name != NULL) {
        Py_ssize_t n = (node->args != NULL && PyTuple_Check(node->args)) ? PyTuple_GET_SIZE(node->args) : 0;
        arrays = PyTuple_New(n + 1);
        if (arrays != NULL) {
            PyTuple_SET_ITEM(arrays, 0, Py_NewRef(g));
            for (Py_ssize_t i = 0; i < n; i++) {
                PyTuple_SET_ITEM(arrays, i + 1, Py_NewRef(PyTuple_GET_ITEM(node->args, i)));
            }
        }
    }
    if (arrays != NULL) {
        PyObject *r = PyObject_CallFunctionObjArgs(unavailable, name, str_derivative_rule, value, arrays, NULL);
        if (r != NULL) {  /* it let the error be */
            Py_DECREF(r);
            PyErr_Restore(type, value, tb);
            type = value = tb = NULL;
        }
    }
    Py_XDECREF(name);
    Py_XDECREF(arrays);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_RuntimeError, "chainrule: a derivative rule failed");
    }
}

/* walk(signals, owned, retain_graph): the loop of _walk_by_creation, with recording already switched off
 * by the caller; the leaves' signals are left in `signals` for it to accumulate. */
static PyObject *walk_function(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 3 || !PyDict_CheckExact(argv[0])) {
        PyErr_SetString(PyExc_TypeError, "chainrule._cengine.walk(signals: dict, owned, retain_graph)");
        return NULL;
    }
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "chainrule._cengine: setup() was not called");
        return NULL;
    }
    PyObject *signals = argv[0], *owned = argv[1];
    int retain = PyObject_IsTrue(argv[2]);
    if (retain < 0) {
        return NULL;
    }
    if (owned != Py_None && !PyDict_CheckExact(owned)) {
        PyErr_SetString(PyExc_TypeError, "chainrule._cengine.walk: owned must be a dict or None");
        return NULL;
    }
    Heap heap = {NULL, 0, 0};
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(signals, &pos, &key, &value)) {
        if (!PyObject_TypeCheck(key, tensor_type)) {
            if (!IS_NODE(key)) {
                PyErr_Format(PyExc_TypeError, "chainrule: a vertex of the graph is a %.100s, not a Node or "
                             "Tensor", Py_TYPE(key)->tp_name);
                goto fail;
            }
            if (heap_push(&heap, key) < 0) {
                goto fail;
            }
        }
    }
    while (heap.size) {
        NodeObject *node = heap_pop(&heap);
        PyObject *g = PyDict_GetItemWithError(signals, (PyObject *)node);
        if (g == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(PyExc_KeyError, (PyObject *)node);
            }
            Py_DECREF(node);
            goto fail;
        }
        Py_INCREF(g);
        if (PyDict_DelItem(signals, (PyObject *)node) < 0) {
            Py_DECREF(g);
            Py_DECREF(node);
            goto fail;
        }
        if (g == Py_None) {  /* (a seed of None) */
            Py_DECREF(g);
            Py_DECREF(node);
            continue;
        }
        if (owned != Py_None && PyDict_GET_SIZE(owned)) {
            PyObject *id = PyLong_FromVoidPtr(g);
            if (id == NULL) {
                Py_DECREF(g);
                Py_DECREF(node);
                goto fail;
            }
            /* owned.pop(id(g), None), without making a KeyError when it is not there */
            PyObject *owner = PyDict_GetItemWithError(owned, id);
            if ((owner == NULL && PyErr_Occurred()) || (owner != NULL && PyDict_DelItem(owned, id) < 0)) {
                Py_DECREF(id);
                Py_DECREF(g);
                Py_DECREF(node);
                goto fail;
            }
            Py_DECREF(id);
        }
        ModeView mode;
        if (current_mode(&mode) < 0 || propagate(node, g, signals, owned, &heap, mode.debug > 1) < 0) {
            rule_failed(node, g);
            Py_DECREF(g);
            Py_DECREF(node);
            goto fail;
        }
        Py_DECREF(g);
        if (!retain && node_release(node) < 0) {
            Py_DECREF(node);
            goto fail;
        }
        Py_DECREF(node);
    }
    heap_free(&heap);
    Py_RETURN_NONE;
fail:
    heap_free(&heap);
    return NULL;
}

static PyObject *next_seq_function(PyObject *module, PyObject *unused) {
    return PyLong_FromLongLong(next_seq_value++);
}

/* ---- common cases of rule-table functions, decided in C -----------------------------------------------------
 * A FastCase is a Python function of the rule table (its `reference`) with its common case decided here,
 * without a Python frame; every other call is the reference's:
 *   - FastCase(chainrule._rules.unbroadcast): the rules of broadcasting primitives end in unbroadcast(g, x),
 *     which is g itself when the shapes are equal (the usual case), and a sum over the leading axes when
 *     broadcasting only added those (a bias's gradient);
 *   - FastCase(forward, ufunc): the forward _ufunc(name) makes, NumPy's ufunc on one ndarray with no keywords.
 * Attributes it lacks (__name__, __doc__'s function, ...) are the reference's. */
typedef struct {
    PyObject_HEAD
    PyObject *reference, *ufunc;  /* ufunc: NULL for unbroadcast */
    vectorcallfunc vectorcall;
} FastCaseObject;

_Static_assert(offsetof(FastCaseObject, reference) == offsetof(PairHead, first)
               && offsetof(FastCaseObject, ufunc) == offsetof(PairHead, second), "FastCase starts as a PairHead");

/* g.sum(axis=(0, ..., lead - 1)) when broadcasting only added leading axes to `target` (an ndarray or its
 * Shape): a bias's gradient. None when that is not the case. */
static PyObject *sum_leading_axes(PyObject *g, PyObject *target) {
    PyObject *shape = NULL;
    int nd;
    if (Py_IS_TYPE(target, ndarray_type)) {
        nd = ARRAY(target)->nd;
    } else if (Py_IS_TYPE(target, (PyTypeObject *)shape_class)) {
        shape = SLOT(target, s_shape);
        if (shape == NULL || !PyTuple_CheckExact(shape)) {
            Py_RETURN_NONE;
        }
        nd = (int)PyTuple_GET_SIZE(shape);
    } else {
        Py_RETURN_NONE;
    }
    int lead = ARRAY(g)->nd - nd;
    if (lead <= 0 || lead > 8) {
        Py_RETURN_NONE;
    }
    for (int i = 0; i < nd; i++) {
        Py_ssize_t n;
        if (shape == NULL) {
            n = ARRAY(target)->dimensions[i];
        } else {
            PyObject *item = PyTuple_GET_ITEM(shape, i);
            n = PyLong_CheckExact(item) ? PyLong_AsSsize_t(item) : -1;
            if (n == -1 && PyErr_Occurred()) {
                PyErr_Clear();
            }
        }
        if (n != ARRAY(g)->dimensions[lead + i]) {
            Py_RETURN_NONE;  /* a stretched axis (or another case): the reference's */
        }
    }
    PyObject *axes = PyTuple_New(lead);
    if (axes == NULL) {
        return NULL;
    }
    for (int i = 0; i < lead; i++) {
        PyTuple_SET_ITEM(axes, i, PyLong_FromLong(i));  /* (small ints: cached, cannot fail) */
    }
    PyObject *call_args[2] = {g, axes};
    PyObject *result = PyObject_VectorcallMethod(str_sum, call_args, 1,
                                                 kwnames_axis);
    Py_DECREF(axes);
    return result;
}

static PyObject *unbroadcast_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    if (PyVectorcall_NARGS(nargsf) == 2 && kwnames == NULL && Py_IS_TYPE(args[0], ndarray_type)) {
        PyObject *g = args[0], *target = args[1];
        int same = 0;
        if (Py_IS_TYPE(target, ndarray_type)) {
            same = ARRAY(g)->nd == ARRAY(target)->nd;
            for (int i = 0; same && i < ARRAY(g)->nd; i++) {
                same = ARRAY(g)->dimensions[i] == ARRAY(target)->dimensions[i];
            }
        } else if (Py_IS_TYPE(target, (PyTypeObject *)shape_class)) {
            PyObject *shape = SLOT(target, s_shape);
            same = shape != NULL && dims_equal(g, shape);
        } else if (PyTuple_CheckExact(target)) {
            same = dims_equal(g, target);
        }
        if (same) {
            return Py_NewRef(g);
        }
        PyObject *result = sum_leading_axes(g, target);
        if (result != Py_None) {
            return result;  /* (or NULL: the sum's error) */
        }
        Py_DECREF(result);
    }
    return PyObject_Vectorcall(((FastCaseObject *)self)->reference, args, nargsf, kwnames);
}

static PyObject *ufunc_forward_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                          PyObject *kwnames) {
    FastCaseObject *f = (FastCaseObject *)self;
    if (PyVectorcall_NARGS(nargsf) == 1 && kwnames == NULL && Py_IS_TYPE(args[0], ndarray_type)) {
        return PyObject_Vectorcall(f->ufunc, args, 1, NULL);
    }
    return PyObject_Vectorcall(f->reference, args, nargsf, kwnames);
}

static PyObject *fast_case_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *reference, *ufunc = NULL;
    if (!PyArg_ParseTuple(args, "O|O:FastCase", &reference, &ufunc)) {
        return NULL;
    }
    FastCaseObject *self = (FastCaseObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->reference = Py_NewRef(reference);
    self->ufunc = Py_XNewRef(ufunc);
    self->vectorcall = ufunc ? ufunc_forward_vectorcall : unbroadcast_vectorcall;
    return (PyObject *)self;
}

static PyObject *fast_case_getattro(PyObject *self, PyObject *name) {
    PyObject *value = PyObject_GenericGetAttr(self, name);
    if (value == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        value = PyObject_GetAttr(((FastCaseObject *)self)->reference, name);
    }
    return value;
}

static PyMemberDef fast_case_members[] = {
    {"__wrapped__", T_OBJECT_EX, offsetof(FastCaseObject, reference), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(FastCaseObject, vectorcall), READONLY, NULL},
    {NULL}
};

static PyType_Slot fast_case_slots[] = {
    {Py_tp_new, fast_case_new},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_traverse, pair_traverse},
    {Py_tp_clear, pair_clear},
    {Py_tp_dealloc, pair_dealloc},
    {Py_tp_getattro, fast_case_getattro},
    {Py_tp_members, fast_case_members},
    {0, NULL}
};

static PyType_Spec fast_case_spec = {
    "chainrule._cengine.FastCase", sizeof(FastCaseObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL, fast_case_slots
};

/* ---- setup ------------------------------------------------------------------------------------------------ */

static int slot_offset(PyObject *cls, const char *name, Py_ssize_t *offset) {
    PyObject *descr = PyObject_GetAttrString(cls, name);
    if (descr == NULL) {
        return -1;
    }
    if (!Py_IS_TYPE(descr, &PyMemberDescr_Type) || ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "chainrule._cengine: %R.%s is not a slot", cls, name);
        Py_DECREF(descr);
        return -1;
    }
    *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    Py_DECREF(descr);
    return 0;
}

static PyObject *get(PyObject *names, const char *name) {
    PyObject *value = PyDict_GetItemString(names, name);
    if (value == NULL) {
        PyErr_Format(PyExc_KeyError, "chainrule._cengine.setup: %s missing", name);
        return NULL;
    }
    return Py_NewRef(value);
}

/* The array struct above must match NumPy's: check it on live arrays. */
static int check_array_layout(PyObject *np) {
    PyObject *a = PyObject_CallMethod(np, "zeros", "((ii))", 3, 4);
    if (a == NULL) {
        return -1;
    }
    PyObject *view = PyObject_CallMethod(a, "transpose", NULL);
    int ok = view != NULL && Py_IS_TYPE(a, ndarray_type) && ARRAY(a)->nd == 2 && ARRAY(a)->dimensions[0] == 3
             && ARRAY(a)->dimensions[1] == 4 && ARRAY(a)->base == NULL && ARRAY(view)->base == a
             && (ARRAY(a)->flags & NPY_WRITEABLE);
    if (ok) {
        PyObject *descr = PyObject_GetAttrString(a, "dtype");
        ok = descr == ARRAY(a)->descr;
        Py_XDECREF(descr);
        PyObject *r = PyObject_CallMethod(a, "setflags", "O", Py_False);
        ok = ok && r != NULL && !(ARRAY(a)->flags & NPY_WRITEABLE);
        Py_XDECREF(r);
    }
    Py_XDECREF(view);
    Py_DECREF(a);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!ok) {
        PyErr_SetString(PyExc_ImportError, "chainrule._cengine: NumPy's array layout is not the one this "
                        "engine was written for");
        return -1;
    }
    return 0;
}

static PyObject *setup_function(PyObject *module, PyObject *names) {
    if (!PyDict_Check(names)) {
        PyErr_SetString(PyExc_TypeError, "chainrule._cengine.setup(namespace of chainrule._graph)");
        return NULL;
    }
    PyObject *np = PyImport_ImportModule("numpy");
    if (np == NULL) {
        return NULL;
    }
    ndarray_type = (PyTypeObject *)PyObject_GetAttrString(np, "ndarray");
    generic_type = (PyTypeObject *)PyObject_GetAttrString(np, "generic");
    asarray = PyObject_GetAttrString(np, "asarray");
    if (ndarray_type == NULL || generic_type == NULL || asarray == NULL || check_array_layout(np) < 0) {
        Py_DECREF(np);
        return NULL;
    }
    Py_DECREF(np);
    PyObject *guard;
    PyObject *tensor = get(names, "Tensor"), *primitive = get(names, "Primitive"), *mode_class = get(names, "_Mode");
    if (tensor == NULL || primitive == NULL || mode_class == NULL) {
        return NULL;
    }
    tensor_type = (PyTypeObject *)tensor;
    primitive_type = (PyTypeObject *)primitive;
    locking_node_type = (PyTypeObject *)get(names, "_LockingNode");
    shape_class = get(names, "Shape");
    state_var = get(names, "_state");
    sharers = get(names, "_sharers");
    orphans = get(names, "_orphans");
    guard = get(names, "_guard");
    python_call = get(names, "_python_call");
    forward_failed = get(names, "_forward_failed");
    conform = get(names, "_conform");
    modified = get(names, "_modified");
    py_propagate = get(names, "_propagate");
    unavailable = get(names, "unavailable");
    no_kwargs = get(names, "_NO_KWARGS");
    small_limit_obj = get(names, "_SMALL");
    if (locking_node_type == NULL || shape_class == NULL || state_var == NULL || sharers == NULL
        || orphans == NULL || guard == NULL || python_call == NULL || forward_failed == NULL || conform == NULL
        || modified == NULL || py_propagate == NULL || unavailable == NULL || no_kwargs == NULL
        || small_limit_obj == NULL) {
        return NULL;
    }
    if (!PyDict_CheckExact(sharers) || !PyDict_CheckExact(orphans) || !PyContextVar_CheckExact(state_var)) {
        PyErr_SetString(PyExc_TypeError, "chainrule._cengine.setup: unexpected lock books or mode variable");
        return NULL;
    }
    small_limit = PyLong_AsSsize_t(small_limit_obj);
    acquire = PyObject_GetAttrString(guard, "acquire");
    release_lock = PyObject_GetAttrString(guard, "release");
    Py_DECREF(guard);
    if (acquire == NULL || release_lock == NULL || (small_limit == -1 && PyErr_Occurred())) {
        return NULL;
    }
    if (slot_offset(tensor, "data", &t_data) < 0 || slot_offset(tensor, "requires_grad", &t_requires_grad) < 0
        || slot_offset(tensor, "grad", &t_grad) < 0 || slot_offset(tensor, "_node", &t_node) < 0
        || slot_offset(tensor, "_version", &t_version) < 0 || slot_offset(tensor, "name", &t_name) < 0
        || slot_offset(primitive, "forward", &p_forward) < 0
        || slot_offset(primitive, "_vjps", &p_vjps) < 0
        || slot_offset(primitive, "missing_rules", &p_missing_rules) < 0
        || slot_offset(primitive, "differentiable", &p_differentiable) < 0
        || slot_offset(primitive, "n_outputs", &p_n_outputs) < 0 || slot_offset(primitive, "saves", &p_saves) < 0
        || slot_offset(primitive, "unusual", &p_unusual) < 0 || slot_offset(primitive, "acyclic", &p_acyclic) < 0
        || slot_offset(mode_class, "grad_enabled", &m_grad_enabled) < 0
        || slot_offset(mode_class, "debug", &m_debug) < 0 || slot_offset(mode_class, "tape", &m_tape) < 0) {
        return NULL;
    }
    if (slot_offset(shape_class, "shape", &s_shape) < 0 || slot_offset(shape_class, "dtype", &s_dtype) < 0) {
        return NULL;
    }
    if (!PyType_IsSubtype(locking_node_type, node_type)) {
        PyErr_SetString(PyExc_TypeError, "chainrule._cengine.setup: _LockingNode must subclass the C Node");
        return NULL;
    }
    /* Tensor.grad and Tensor.name: the same slots, behind descriptors that keep untracked nodes off cycles */
    PyTypeObject *slot_type = (PyTypeObject *)PyType_FromSpec(&tensor_slot_spec);
    if (slot_type == NULL) {
        return NULL;
    }
    for (int is_grad = 0; is_grad < 2; is_grad++) {
        PyObject *descriptor = slot_type->tp_alloc(slot_type, 0);
        if (descriptor == NULL) {
            Py_DECREF(slot_type);
            return NULL;
        }
        ((TensorSlotObject *)descriptor)->is_grad = is_grad;
        int status = PyObject_SetAttrString(tensor, is_grad ? "grad" : "name", descriptor);
        Py_DECREF(descriptor);
        if (status < 0) {
            Py_DECREF(slot_type);
            return NULL;
        }
    }
    Py_DECREF(slot_type);
    mode_type = (PyTypeObject *)mode_class;  /* (the references taken by get() are kept) */
    ready = 1;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"setup", (PyCFunction)setup_function, METH_O, "Connect the engine to chainrule._graph's namespace."},
    {"walk", (PyCFunction)(void (*)(void))walk_function, METH_FASTCALL,
     "walk(signals, owned, retain_graph): the node loop of Tensor.backward's walk."},
    {"lock", (PyCFunction)lock_function, METH_O, "lock(arrays): as chainrule._graph._lock."},
    {"unlock", (PyCFunction)unlock_function, METH_O, "unlock(locked): as chainrule._graph._unlock."},
    {"next_seq", (PyCFunction)next_seq_function, METH_NOARGS, "The next creation number of a node."},
    {"track_graph", (PyCFunction)track_graph_function, METH_O,
     "track_graph(node): put every node reachable from node into the cyclic collector's books."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "chainrule._cengine",
    "The optional C accelerator of chainrule's engine (the specification: chainrule._graph's docstring).",
    -1, module_methods
};

PyMODINIT_FUNC PyInit__cengine(void) {
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    str_sum = PyUnicode_InternFromString("sum");
    kwnames_axis = Py_BuildValue("(s)", "axis");
    str_ans = PyUnicode_InternFromString("ans");
    str_setflags = PyUnicode_InternFromString("setflags");
    str_vjp = PyUnicode_InternFromString("vjp");
    str_derivative_rule = PyUnicode_InternFromString("derivative rule");
    str_name = PyUnicode_InternFromString("name");
    str_class = PyUnicode_InternFromString("__class__");
    empty_tuple = PyTuple_New(0);
    zero = PyLong_FromLong(0);
    if (str_sum == NULL || kwnames_axis == NULL || str_ans == NULL || str_setflags == NULL || str_vjp == NULL || str_derivative_rule == NULL
        || str_name == NULL || str_class == NULL || empty_tuple == NULL || zero == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    for (int i = 0; i < 8; i++) {
        position_tuples[i] = Py_BuildValue("(i)", i);
        if (position_tuples[i] == NULL) {
            Py_DECREF(m);
            return NULL;
        }
    }
    node_type = (PyTypeObject *)PyType_FromSpec(&node_spec);
    PyObject *operator_type = PyType_FromSpec(&operator_spec);
    if (operator_type == NULL || PyModule_AddObject(m, "Operator", operator_type) < 0) {
        Py_XDECREF(operator_type);
        Py_DECREF(m);
        return NULL;
    }
    PyObject *fast_case_type = PyType_FromSpec(&fast_case_spec);
    if (fast_case_type == NULL || PyModule_AddObject(m, "FastCase", fast_case_type) < 0) {
        Py_XDECREF(fast_case_type);
        Py_DECREF(m);
        return NULL;
    }
    PyObject *base = PyType_FromSpec(&primitive_base_spec);
    if (node_type == NULL || base == NULL || PyModule_AddObjectRef(m, "Node", (PyObject *)node_type) < 0
        || PyModule_AddObject(m, "PrimitiveBase", base) < 0) {
        Py_XDECREF(base);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
