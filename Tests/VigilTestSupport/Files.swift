#if canImport(Glibc)
import Glibc
#endif

/// A fresh folder under the system temp folder, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "vigil-test") throws {
        var template = Array("/tmp/\(label).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        path = String(cString: made)
    }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Deletes the folder and everything in it.
    public func remove() {
        _ = try? ChildProcess.run("rm", ["-rf", path], log: "/dev/null")
    }
}

/// Writes `text` to `path`, replacing it; with `makeFolder`, creates the file's folder first.
public func writeFile(_ path: String, _ text: String, makeFolder: Bool = false) throws {
    if makeFolder, let slash = path.lastIndex(of: "/") { mkdir(String(path[..<slash]), 0o755) }
    guard let file = fopen(path, "w") else { throw TestFailure("cannot write \(path)") }
    defer { fclose(file) }
    fputs(text, file)
}

/// Writes `bytes` to `path`, replacing it, creating its folder if needed.
public func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
    if let slash = path.lastIndex(of: "/") { mkdir(String(path[..<slash]), 0o755) }
    guard let file = fopen(path, "wb") else { throw TestFailure("cannot write \(path)") }
    defer { fclose(file) }
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw TestFailure("cannot write \(path)") }
}

/// The whole file as text.
public func readFile(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw TestFailure("cannot read \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The size of a file in bytes, 0 when absent.
public func fileSize(_ path: String) -> Int64 {
    var info = stat()
    return stat(path, &info) == 0 ? Int64(info.st_size) : 0
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
public func eventually(timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = now() + timeout
    repeat {
        if try condition() { return true }
        usleep(20_000)
    } while now() < deadline
    return try condition()
}

/// The folder of the test binaries, where SwiftPM also puts the package's executables.
public func buildProductsDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = String(decoding: buffer[0..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var parts = exe.split(separator: "/", omittingEmptySubsequences: false)
    // .../debug/VigilPackageTests.xctest or .../debug/VigilPackageTests.xctest/.../binary
    while let last = parts.last, !last.hasSuffix(".xctest") { parts.removeLast() }
    parts.removeLast()
    return parts.joined(separator: "/")
}
