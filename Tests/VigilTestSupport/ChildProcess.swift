#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import VigilCore

/// Children still running, stopped by pid when the test process exits, even if a test never
/// released its broker.
private let running = Mutex<Set<pid_t>>([])
private let registerExitCleanup: Void = {
    atexit {
        for pid in running.withLock({ $0 }) {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}()

/// A process a test starts (a broker, the agent, openssl), with its output in files, stopped
/// by its own pid and nothing else.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    /// Where its standard output and error go.
    public let logPath: String
    private var exitStatus: Int32?

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments`, in this
    /// process's environment plus `environment`.
    public init(_ executable: String, _ arguments: [String], log: String, environment: [String: String] = [:]) throws {
        self.executable = executable
        logPath = log
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Children start with no blocked signals, whatever the test runner blocked.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        var inherited: [String] = []
        var entry = environ
        while let variable = entry.pointee {
            inherited.append(String(cString: variable))
            entry += 1
        }
        let envp = (inherited + environment.map { "\($0.key)=\($0.value)" }).map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        let rc = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw TestFailure("cannot start \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
        registerExitCleanup
        running.withLock { _ = $0.insert(pid) }
    }

    /// Sends `signal` to this process only.
    public func signal(_ signal: Int32) {
        if exitStatus == nil { kill(pid, signal) }
    }

    /// Waits for the process to exit and returns its status (128 + n when killed by signal n).
    @discardableResult
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return reaped(status)
    }

    /// Whether it has exited, without waiting.
    public var hasExited: Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        reaped(status)
        return true
    }

    @discardableResult
    private func reaped(_ status: Int32) -> Int32 {
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus = code
        running.withLock { _ = $0.remove(pid) }
        return code
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace` seconds; then reaps it.
    @discardableResult
    public func stop(grace: Double = 5) -> Int32 {
        signal(SIGTERM)
        let deadline = now() + grace
        while !hasExited && now() < deadline { usleep(10_000) }
        if !hasExited { signal(SIGKILL) }
        return wait()
    }

    /// Its output so far.
    public func output() -> String {
        (try? readFile(logPath)) ?? ""
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
    }

    /// Runs a command to completion and returns its exit status; its output goes to `log`.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], log: String) throws -> Int32 {
        try ChildProcess(executable, arguments, log: log).wait()
    }
}

/// A failure in test set-up, with what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

func now() -> Double { MonotonicClock.now() }
