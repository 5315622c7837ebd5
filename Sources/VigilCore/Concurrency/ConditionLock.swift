#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with one condition variable, for hand-offs between the threads Vigil owns
/// (libmosquitto's network thread, the agent's writer). Swift's `Mutex` has no condition
/// variable, and these threads must block without touching the cooperative pool.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held.
    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits, with the lock held by the caller (inside `withLock`), until signalled or until
    /// `deadline` (monotonic seconds) passes. Returns false on timeout. Spurious wake-ups happen:
    /// callers loop on their own predicate.
    @discardableResult
    public func wait(until deadline: Double? = nil) -> Bool {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return true
        }
        #if os(Linux)
        let whole = deadline.rounded(.down)
        var spec = timespec(tv_sec: Int(whole), tv_nsec: Int((deadline - whole) * 1e9))
        return pthread_cond_timedwait(condition, mutex, &spec) == 0
        #else
        let remaining = max(0, deadline - MonotonicClock.now())
        let whole = remaining.rounded(.down)
        var spec = timespec(tv_sec: Int(whole), tv_nsec: Int((remaining - whole) * 1e9))
        return pthread_cond_timedwait_relative_np(condition, mutex, &spec) == 0
        #endif
    }

    /// Wakes every waiter; call with the lock held.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

/// Monotonic time in seconds, for deadlines and intervals that wall-clock jumps must not move.
public enum MonotonicClock {
    /// Seconds since an arbitrary fixed point.
    @inline(__always)
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }
}

/// Wall-clock time as Unix seconds, the unit readings and dead letters are stamped with.
public enum WallClock {
    /// Seconds since the Unix epoch.
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// `seconds` as UTC ISO 8601, e.g. `2026-11-27T05:45:32Z` (with `.123` milliseconds if asked).
    public static func utc(_ seconds: Double, milliseconds: Bool = false) -> String {
        var whole = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        var text = "\(Int(parts.tm_year) + 1900)-" + String(Int(parts.tm_mon) + 1, zeroPaddedTo: 2) + "-"
            + String(Int(parts.tm_mday), zeroPaddedTo: 2) + "T" + String(Int(parts.tm_hour), zeroPaddedTo: 2) + ":"
            + String(Int(parts.tm_min), zeroPaddedTo: 2) + ":" + String(Int(parts.tm_sec), zeroPaddedTo: 2)
        if milliseconds { text += "." + String(Int((seconds - seconds.rounded(.down)) * 1000), zeroPaddedTo: 3) }
        return text + "Z"
    }
}

extension String {
    /// `value` in decimal with leading zeros up to `width` digits: `motor-0007`, `05:09`.
    public init(_ value: Int, zeroPaddedTo width: Int) {
        let digits = String(value)
        self = String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }
}
