// The pybind11 binding of the C driver core: a thin Device class over dmasim_dma.h.
//
// Callbacks into the target (model/RTL) run with the GIL held, as the core is called with it
// held. The GIL is released only around the blocking operations (polls, resets, read loops) of
// a device with a direct mapping, where the core touches nothing but the mapped registers and
// the C library. Negative status codes become dmasim exceptions through
// dmasim.drivers.native.status.raise_status, so both bindings raise the same types; an
// exception raised inside a callback is carried across the C core and re-raised unchanged.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "dmasim_dma.h"

namespace py = pybind11;

namespace {

struct Callbacks {
    py::object read32;
    py::object write32;
    py::object delay;
    py::object clock;
    py::str now_name{"now_ns"};
    std::exception_ptr error;
};

int cb_read32(void *ctx, uint64_t addr, uint32_t *value)
{
    auto *cb = static_cast<Callbacks *>(ctx);
    try {
        *value = cb->read32(addr).cast<uint32_t>();
        return 0;
    } catch (...) {
        cb->error = std::current_exception();
        return -1;
    }
}

int cb_write32(void *ctx, uint64_t addr, uint32_t value)
{
    auto *cb = static_cast<Callbacks *>(ctx);
    try {
        cb->write32(addr, value);
        return 0;
    } catch (...) {
        cb->error = std::current_exception();
        return -1;
    }
}

int cb_delay(void *ctx, uint64_t ns)
{
    auto *cb = static_cast<Callbacks *>(ctx);
    try {
        cb->delay(ns);
        return 0;
    } catch (...) {
        cb->error = std::current_exception();
        return -1;
    }
}

int cb_now(void *ctx, uint64_t *now)
{
    auto *cb = static_cast<Callbacks *>(ctx);
    try {
        *now = py::getattr(cb->clock, cb->now_name).cast<uint64_t>();
        return 0;
    } catch (...) {
        cb->error = std::current_exception();
        return -1;
    }
}

class Device {
public:
    // Callbacks into `bus` (read32/write32 at physical addresses) and `clock` (now_ns, delay).
    Device(py::object bus, py::object clock, uint64_t phys_base, uint32_t length)
        : cb_(std::make_unique<Callbacks>())
    {
        cb_->read32 = bus.attr("read32");
        cb_->write32 = bus.attr("write32");
        cb_->delay = clock.attr("delay");
        cb_->clock = std::move(clock);
        dmasim_ops ops{cb_read32, cb_write32, cb_delay, cb_now, cb_.get()};
        check(dmasim_init_callbacks(&dev_, &ops, phys_base, length), "init");
    }

    // A direct mapping of `path` (/dev/mem or a regular file standing in for it).
    Device(const std::string &path, uint64_t phys_base, uint32_t length)
    {
        int rc;
        {
            py::gil_scoped_release release;
            rc = dmasim_open_mmap(&dev_, path.c_str(), phys_base, length);
        }
        check(rc, "open " + path);
    }

    ~Device() { dmasim_close(&dev_); }
    Device(const Device &) = delete;
    Device &operator=(const Device &) = delete;

    bool direct() const { return dmasim_is_direct(&dev_) != 0; }
    bool closed() const { return dev_.closed != 0; }
    uint64_t phys_base() const { return dev_.phys_base; }
    uint32_t length() const { return dev_.length; }
    py::tuple mapping() const
    {
        return py::make_tuple(reinterpret_cast<uintptr_t>(dev_.map_addr), dev_.map_len,
                              dev_.map_delta);
    }

    void close()
    {
        if (in_flight_ > 0)
            raise(DMASIM_EINVAL, "close while another thread is polling this device");
        dmasim_close(&dev_);
        if (cb_) {
            // The core refuses every call once closed, so the callbacks are never used again:
            // drop the references to the target (they would keep it alive through this C++
            // object, which Python's cycle collector cannot see into).
            cb_->read32 = cb_->write32 = cb_->delay = cb_->clock = py::none();
            cb_->error = nullptr;
        }
    }

    void set_timing(uint64_t first, uint64_t max, uint64_t wall_guard)
    {
        dev_.timing.first_backoff_ns = first;
        dev_.timing.max_backoff_ns = max;
        dev_.timing.wall_guard_ns = wall_guard;
    }

    // Map the PL310 CACHE_SYNC register so the barrier before each LENGTH write drains it.
    void open_outer_sync(const std::string &path, uint64_t sync_addr)
    {
        check(dmasim_open_outer_sync(&dev_, path.c_str(), sync_addr), "open_outer_sync " + path);
    }

    bool outer_sync() const { return dmasim_has_outer_sync(&dev_) != 0; }

    uint32_t read(uint32_t offset)
    {
        uint32_t v = 0;
        check(dmasim_read(&dev_, offset, &v), "read");
        return v;
    }

    void write(uint32_t offset, uint32_t value)
    {
        check(dmasim_write(&dev_, offset, value), "write");
    }

    uint32_t read_loop(uint32_t offset, uint64_t count)
    {
        uint32_t v = 0;
        int rc = blocking([&] { return dmasim_read_loop(&dev_, offset, count, &v); });
        check(rc, "read_loop");
        return v;
    }

    uint64_t now()
    {
        uint64_t t = 0;
        check(dmasim_now(&dev_, &t), "now");
        return t;
    }

    void delay(uint64_t ns)
    {
        check(blocking([&] { return dmasim_delay(&dev_, ns); }), "delay");
    }

    py::tuple poll(uint32_t offset, uint32_t done_mask, bool want_set, uint32_t stop_mask,
                   uint64_t timeout_ns)
    {
        uint32_t v = 0;
        int rc = blocking([&] {
            return dmasim_poll(&dev_, offset, done_mask, want_set ? 1 : 0, stop_mask, timeout_ns,
                               &v);
        });
        check(rc, "poll");
        return py::make_tuple(rc, v);
    }

    int reset(uint64_t timeout_ns)
    {
        int rc = blocking([&] { return dmasim_reset(&dev_, timeout_ns); });
        check(rc, "reset");
        return rc;
    }

    uint32_t dmasr(uint32_t channel)
    {
        uint32_t v = 0;
        check(dmasim_dmasr(&dev_, channel, &v), "dmasr");
        return v;
    }

    py::tuple start(uint32_t channel, uint64_t timeout_ns, uint32_t irq_enables)
    {
        uint32_t v = 0;
        int rc = blocking([&] { return dmasim_start(&dev_, channel, timeout_ns, irq_enables, &v); });
        check(rc, "start");
        return py::make_tuple(rc, v);
    }

    py::tuple stop(uint32_t channel, uint64_t timeout_ns)
    {
        uint32_t v = 0;
        int rc = blocking([&] { return dmasim_stop(&dev_, channel, timeout_ns, &v); });
        check(rc, "stop");
        return py::make_tuple(rc, v);
    }

    void program(uint32_t channel, uint64_t addr, uint32_t nbytes, bool write_msb)
    {
        check(dmasim_program(&dev_, channel, addr, nbytes, write_msb ? 1 : 0), "program");
    }

    py::tuple wait_idle(uint32_t channel, uint64_t timeout_ns, uint32_t nbytes)
    {
        uint32_t v = 0;
        int rc = blocking(
            [&] { return dmasim_wait_idle(&dev_, channel, timeout_ns, nbytes, &v); });
        check(rc, "wait_idle");
        return py::make_tuple(rc, v);
    }

    // Scatter-gather mode: BDs through their CPU address `bds` (see dmasim_dma.h).
    void sg_link(uintptr_t bds, uint64_t phys, uint32_t count)
    {
        check(dmasim_sg_link(reinterpret_cast<uint32_t *>(bds), phys, count), "sg_link");
    }

    uint32_t sg_fill(uintptr_t bds, uint32_t count, uint32_t first, uint64_t addr,
                     uint64_t nbytes, uint32_t bd_max, bool framing)
    {
        uint32_t used = 0;
        check(dmasim_sg_fill(reinterpret_cast<uint32_t *>(bds), count, first, addr, nbytes,
                             bd_max, framing ? 1 : 0, &used),
              "sg_fill");
        return used;
    }

    py::tuple sg_result(uintptr_t bds, uint32_t count, uint32_t first, uint32_t n,
                        uint32_t len_mask, uint32_t eof_mask)
    {
        uint64_t moved = 0;
        uint32_t end = 0;
        int rc = dmasim_sg_result(reinterpret_cast<const uint32_t *>(bds), count, first, n,
                                  len_mask, eof_mask, &moved, &end);
        check(rc, "sg_result");
        return py::make_tuple(rc != 0, moved, end);
    }

    py::tuple sg_start(uint32_t channel, uint64_t curdesc, uint32_t dmacr_bits, bool write_msb,
                       uint64_t timeout_ns)
    {
        uint32_t v = 0;
        int rc = blocking([&] {
            return dmasim_sg_start(&dev_, channel, curdesc, dmacr_bits, write_msb ? 1 : 0,
                                   timeout_ns, &v);
        });
        check(rc, "sg_start");
        return py::make_tuple(rc, v);
    }

    void sg_kick(uint32_t channel, uint64_t taildesc, bool write_msb)
    {
        check(dmasim_sg_kick(&dev_, channel, taildesc, write_msb ? 1 : 0), "sg_kick");
    }

    py::tuple sg_wait(uint32_t channel, uintptr_t bds, uint32_t count, uint32_t first, uint32_t n,
                      uint32_t len_mask, uint32_t eof_mask, uint64_t nbytes, uint64_t timeout_ns)
    {
        uint32_t v = 0;
        int rc = blocking([&] {
            return dmasim_sg_wait(&dev_, channel, reinterpret_cast<const uint32_t *>(bds), count,
                                  first, n, len_mask, eof_mask, nbytes, timeout_ns, &v);
        });
        check(rc, "sg_wait");
        return py::make_tuple(rc, v);
    }

private:
    // Run a core call that may poll; without the GIL only when no callback can happen.
    template <class F> int blocking(F f)
    {
        if (!dmasim_is_direct(&dev_))
            return f();
        ++in_flight_;
        int rc;
        {
            py::gil_scoped_release release;
            rc = f();
        }
        --in_flight_;
        return rc;
    }

    void check(int rc, const std::string &what)
    {
        if (rc >= 0)
            return;
        if (rc == DMASIM_ECALLBACK && cb_ && cb_->error) {
            std::exception_ptr e = cb_->error;
            cb_->error = nullptr;
            std::rethrow_exception(e);
        }
        raise(rc, what);
    }

    [[noreturn]] void raise(int rc, const std::string &what)
    {
        py::module_::import("dmasim.drivers.native.status")
            .attr("raise_status")(rc, dev_.os_errno, what, dev_.phys_base, dev_.length);
        throw std::logic_error("raise_status returned");  // not reached
    }

    dmasim_dev dev_{};
    std::unique_ptr<Callbacks> cb_;
    int in_flight_ = 0;
};

}  // namespace

PYBIND11_MODULE(_dmasim_pybind11, m)
{
    m.doc() = "pybind11 binding of the dmasim C driver core (dmasim_dma.c)";

    py::class_<Device>(m, "Device")
        .def(py::init<py::object, py::object, uint64_t, uint32_t>(), py::arg("bus"),
             py::arg("clock"), py::arg("phys_base"), py::arg("length"))
        .def(py::init<const std::string &, uint64_t, uint32_t>(), py::arg("path"),
             py::arg("phys_base"), py::arg("length"))
        .def_property_readonly("direct", &Device::direct)
        .def_property_readonly("closed", &Device::closed)
        .def_property_readonly("phys_base", &Device::phys_base)
        .def_property_readonly("length", &Device::length)
        .def("mapping", &Device::mapping)
        .def("close", &Device::close)
        .def("set_timing", &Device::set_timing)
        .def("open_outer_sync", &Device::open_outer_sync)
        .def_property_readonly("outer_sync", &Device::outer_sync)
        .def("read", &Device::read)
        .def("write", &Device::write)
        .def("read_loop", &Device::read_loop)
        .def("now", &Device::now)
        .def("delay", &Device::delay)
        .def("poll", &Device::poll)
        .def("reset", &Device::reset)
        .def("dmasr", &Device::dmasr)
        .def("start", &Device::start)
        .def("stop", &Device::stop)
        .def("program", &Device::program, py::arg("channel"), py::arg("addr"),
             py::arg("nbytes"), py::arg("write_msb") = true)
        .def("wait_idle", &Device::wait_idle, py::arg("channel"), py::arg("timeout_ns"),
             py::arg("nbytes") = 0)
        .def("sg_link", &Device::sg_link)
        .def("sg_fill", &Device::sg_fill)
        .def("sg_result", &Device::sg_result)
        .def("sg_start", &Device::sg_start)
        .def("sg_kick", &Device::sg_kick)
        .def("sg_wait", &Device::sg_wait);

    m.attr("BARRIER_IS_DSB") = dmasim_barrier_is_dsb() != 0;
    m.attr("OK") = static_cast<int>(DMASIM_OK);
    m.attr("TIMEOUT") = static_cast<int>(DMASIM_TIMEOUT);
    m.attr("DMA_ERROR") = static_cast<int>(DMASIM_DMA_ERROR);
    m.attr("HALTED") = static_cast<int>(DMASIM_HALTED);
    m.attr("EBOUNDS") = static_cast<int>(DMASIM_EBOUNDS);
    m.attr("EINVAL") = static_cast<int>(DMASIM_EINVAL);
    m.attr("EOS") = static_cast<int>(DMASIM_EOS);
    m.attr("ECALLBACK") = static_cast<int>(DMASIM_ECALLBACK);
    m.attr("ECLOSED") = static_cast<int>(DMASIM_ECLOSED);
}
