// kernels/emu/boost_ucontext.cpp — for the sanitizer build only (GANTRY_SANITIZE).
// There Boost.Context runs on ucontext with BOOST_USE_ASAN, so that AddressSanitizer
// is told about every fiber switch. Debian's libboost_context is built for fcontext
// and lacks the two ucontext entry points, which are defined here: the thread's
// current activation record, starting as the thread's own (main) context.
#if defined(BOOST_USE_UCONTEXT)
#include <boost/context/fiber.hpp>

namespace boost::context::detail {

namespace {
thread_local fiber_activation_record t_main_context;
thread_local fiber_activation_record* t_current = nullptr;
}  // namespace

fiber_activation_record*& fiber_activation_record::current() noexcept {
  if (!t_current) t_current = &t_main_context;
  return t_current;
}

fiber_activation_record_initializer::fiber_activation_record_initializer() noexcept = default;
fiber_activation_record_initializer::~fiber_activation_record_initializer() = default;

}  // namespace boost::context::detail
#endif
