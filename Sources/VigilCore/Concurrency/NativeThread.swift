#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated OS thread for a long blocking loop (the MQTT network loop, the agent's writer).
/// Such loops must never run on Swift's cooperative pool: it has one thread per core, two here.
public final class NativeThread: @unchecked Sendable {
    private var thread: pthread_t?

    /// Starts `body` on a new thread; `name` appears in a failure to start it.
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if os(Linux)
        var handle = pthread_t()
        #else
        var handle: pthread_t?
        #endif
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed for thread \(name): \(rc)")
        thread = handle
    }

    /// Waits for the thread's body to return.
    public func join() {
        guard let handle = thread else { return }
        thread = nil
        pthread_join(handle, nil)
    }
}
