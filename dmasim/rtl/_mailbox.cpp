// dmasim: the host's end of the rtl target's mailbox, in C++ (the module
// dmasim.rtl._mailbox). Optional: dmasim/rtl/process.py has the same object in
// Python (_PyMailbox) and uses it when this module was not built.
//
// A register access of the rtl target is one command and one reply through the
// mailbox page after the shared DDR (layout: dmasim_sim_shared.h; records:
// dmasim_sim_protocol.h, both generated from dmasim/rtl). In Python the host's
// part of that round trip (store the record, bump the sequence word, wake a
// sleeping simulator, poll for the reply, read it) cost about 1 us, more than the
// simulator's part; here it is a few dozen ns. Only the common case is here: the
// reply coming within the polling time (DMASIM_SPIN_US). Anything else (no reply
// yet, a reply that is not OK) is handed to the Python callable `slow(seq, op,
// a32, a64)`, which sleeps on the futex, watches the process, raises the errors
// and returns the reply's value; the spin pause (after `misses` polls in a row
// that found nothing, sleep at once for the next `pause` commands) is kept here
// as in _PyMailbox.

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "dmasim_sim_protocol.h"
#include "dmasim_sim_shared.h"
#include "dmasim_sim_spin.h"

namespace {

namespace p = dmasim_protocol;
namespace sh = dmasim_shared;
using dmasim_spin::cpu_relax;
using dmasim_spin::now_ns;

struct Mailbox {
    PyObject_HEAD
    Py_buffer view;          // the mailbox page, writable
    unsigned char* base;     // view.buf
    PyObject* slow;          // callable(seq, op, a32, a64) -> value
    unsigned long long last_ns;
    unsigned int seq;
    long long spin_ns;
    int misses_max;
    int pause;
    int misses;
    int skip;
};

inline uint32_t* word(Mailbox* m, uint32_t off) {
    return reinterpret_cast<uint32_t*>(m->base + off);
}

// Write the command record, then its sequence number, and wake a sleeping simulator.
uint32_t send(Mailbox* m, int op, uint32_t a32, uint64_t a64) {
    unsigned char* rec = m->base + sh::kCMD;
    const uint32_t head = static_cast<uint32_t>(op & 0xff);  // op, flags 0, pad 0
    std::memcpy(rec, &head, 4);
    std::memcpy(rec + 4, &a32, 4);
    std::memcpy(rec + 8, &a64, 8);
    const uint32_t seq = ++m->seq;
    __atomic_store_n(word(m, sh::kCMD_SEQ), seq, __ATOMIC_RELEASE);  // one 4-byte store
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the store before the look at SIM_SLEEPING
    if (__atomic_load_n(word(m, sh::kSIM_SLEEPING), __ATOMIC_ACQUIRE) != 0) {
        ::syscall(SYS_futex, word(m, sh::kCMD_SEQ), FUTEX_WAKE, 1, nullptr, nullptr, 0);
    }
    return seq;
}

// Poll for reply `seq` for up to spin_ns; true when it came.
bool poll(Mailbox* m, uint32_t seq) {
    const uint32_t* rsp = word(m, sh::kRSP_SEQ);
    long long until = 0;
    for (;;) {
        for (int i = 0; i < 32; ++i) {
            if (__atomic_load_n(rsp, __ATOMIC_ACQUIRE) == seq) return true;
            cpu_relax();
        }
        const long long now = now_ns();
        if (until == 0) {
            until = now + m->spin_ns;
        } else if (now > until) {
            return false;
        }
    }
}

bool parse(PyObject* const* args, Py_ssize_t nargs, int* op, uint32_t* a32, uint64_t* a64) {
    if (nargs < 1 || nargs > 3) {
        PyErr_Format(PyExc_TypeError, "request(op, a32=0, a64=0) takes 1 to 3 arguments, not %zd",
                     nargs);
        return false;
    }
    const long o = PyLong_AsLong(args[0]);
    const unsigned long long x = nargs > 1 ? PyLong_AsUnsignedLongLong(args[1]) : 0;
    const unsigned long long y = nargs > 2 ? PyLong_AsUnsignedLongLong(args[2]) : 0;
    if (PyErr_Occurred()) return false;
    if (o < 0 || o > 0xff || x > 0xffffffffULL) {
        PyErr_Format(PyExc_ValueError, "mailbox command out of range: op %ld (0..255), "
                     "a32 %llu (0..2**32-1)", o, x);
        return false;
    }
    *op = static_cast<int>(o);
    *a32 = static_cast<uint32_t>(x);
    *a64 = static_cast<uint64_t>(y);
    return true;
}

PyObject* call_slow(Mailbox* m, uint32_t seq, int op, uint32_t a32, uint64_t a64) {
    PyObject* value = PyObject_CallFunction(m->slow, "kiKK", static_cast<unsigned long>(seq), op,
                                            static_cast<unsigned long long>(a32),
                                            static_cast<unsigned long long>(a64));
    if (value == nullptr) return nullptr;
    std::memcpy(&m->last_ns, m->base + sh::kRSP + 8, 8);
    return value;
}

PyObject* Mailbox_request(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    Mailbox* m = reinterpret_cast<Mailbox*>(self);
    int op = 0;
    uint32_t a32 = 0;
    uint64_t a64 = 0;
    if (!parse(args, nargs, &op, &a32, &a64)) return nullptr;
    const uint32_t seq = send(m, op, a32, a64);
    if (__atomic_load_n(word(m, sh::kRSP_SEQ), __ATOMIC_ACQUIRE) != seq) {
        if (m->skip > 0) {  // polling does not pay at the moment: sleep at once
            --m->skip;
            return call_slow(m, seq, op, a32, a64);
        }
        if (!poll(m, seq)) {
            if (++m->misses >= m->misses_max) {
                m->skip = m->pause;
                m->misses = 0;
            }
            return call_slow(m, seq, op, a32, a64);
        }
        m->misses = 0;
    }
    const unsigned char* rec = m->base + sh::kRSP;
    if (rec[0] != p::kST_OK) return call_slow(m, seq, op, a32, a64);
    uint32_t value = 0;
    std::memcpy(&value, rec + 4, 4);
    std::memcpy(&m->last_ns, rec + 8, 8);
    return PyLong_FromUnsignedLong(value);
}

PyObject* Mailbox_send(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    Mailbox* m = reinterpret_cast<Mailbox*>(self);
    int op = 0;
    uint32_t a32 = 0;
    uint64_t a64 = 0;
    if (!parse(args, nargs, &op, &a32, &a64)) return nullptr;
    return PyLong_FromUnsignedLong(send(m, op, a32, a64));
}

int Mailbox_init(PyObject* self, PyObject* args, PyObject* kwargs) {
    Mailbox* m = reinterpret_cast<Mailbox*>(self);
    static const char* names[] = {"mailbox", "slow", "spin_s", "misses", "pause", nullptr};
    PyObject* buffer = nullptr;
    PyObject* slow = nullptr;
    double spin_s = 0.0;
    int misses = 0;
    int pause = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOdii", const_cast<char**>(names), &buffer,
                                     &slow, &spin_s, &misses, &pause)) {
        return -1;
    }
    if (!PyCallable_Check(slow)) {
        PyErr_SetString(PyExc_TypeError, "slow must be callable");
        return -1;
    }
    if (m->base != nullptr) {
        PyErr_SetString(PyExc_RuntimeError, "Mailbox is already initialised");
        return -1;
    }
    if (PyObject_GetBuffer(buffer, &m->view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) return -1;
    if (m->view.len < static_cast<Py_ssize_t>(sh::kRSP + p::kRECORD_BYTES) ||
        reinterpret_cast<uintptr_t>(m->view.buf) % 8 != 0) {
        PyBuffer_Release(&m->view);
        PyErr_Format(PyExc_ValueError, "the mailbox must be 8-byte aligned and hold %d bytes",
                     static_cast<int>(sh::kRSP + p::kRECORD_BYTES));
        return -1;
    }
    m->base = static_cast<unsigned char*>(m->view.buf);
    Py_INCREF(slow);
    m->slow = slow;
    m->spin_ns = static_cast<long long>(spin_s * 1e9);
    m->misses_max = misses;
    m->pause = pause;
    return 0;
}

void Mailbox_dealloc(PyObject* self) {
    Mailbox* m = reinterpret_cast<Mailbox*>(self);
    PyTypeObject* type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (m->base != nullptr) PyBuffer_Release(&m->view);
    Py_CLEAR(m->slow);
    type->tp_free(self);
    Py_DECREF(type);  // a heap type: each instance holds a reference
}

int Mailbox_traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(reinterpret_cast<Mailbox*>(self)->slow);
    return 0;
}

int Mailbox_clear(PyObject* self) {
    Py_CLEAR(reinterpret_cast<Mailbox*>(self)->slow);
    return 0;
}

PyMethodDef Mailbox_methods[] = {
    {"request", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Mailbox_request)),
     METH_FASTCALL,
     "request(op, a32=0, a64=0) -> int: send one command and return its reply's value."},
    {"send", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Mailbox_send)),
     METH_FASTCALL, "send(op, a32=0, a64=0) -> int: send one command; its sequence number."},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef Mailbox_members[] = {
    {"last_ns", T_ULONGLONG, offsetof(Mailbox, last_ns), 0,
     "simulated time in ns after the last command answered"},
    {"seq", T_UINT, offsetof(Mailbox, seq), 0, "sequence number of the last command sent"},
    {"misses", T_INT, offsetof(Mailbox, misses), READONLY, "polls in a row that found nothing"},
    {"skip", T_INT, offsetof(Mailbox, skip), READONLY, "commands left that sleep at once"},
    {nullptr, 0, 0, 0, nullptr},
};

char kMailboxDoc[] = "The host's end of the rtl target's mailbox (see _PyMailbox).";

PyType_Slot Mailbox_slots[] = {
    {Py_tp_doc, kMailboxDoc},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_init, reinterpret_cast<void*>(Mailbox_init)},
    {Py_tp_dealloc, reinterpret_cast<void*>(Mailbox_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(Mailbox_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(Mailbox_clear)},
    {Py_tp_methods, Mailbox_methods},
    {Py_tp_members, Mailbox_members},
    {0, nullptr},
};

PyType_Spec Mailbox_spec = {"dmasim.rtl._mailbox.Mailbox", sizeof(Mailbox), 0,
                            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, Mailbox_slots};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "dmasim.rtl._mailbox",
    "The host's end of the rtl target's mailbox in C++ (dmasim/rtl/process.py).", -1, nullptr,
    nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__mailbox() {
    PyObject* mod = PyModule_Create(&module);
    if (mod == nullptr) return nullptr;
    PyObject* type = PyType_FromSpec(&Mailbox_spec);
    if (type == nullptr || PyModule_AddObject(mod, "Mailbox", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(mod);
        return nullptr;
    }
    return mod;
}
