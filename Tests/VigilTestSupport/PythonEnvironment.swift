/// A Python virtual environment with packages from PyPI, for tests that talk to implementations
/// nobody here wrote. Made once under the build folder and reused while its package list holds.
public struct PythonEnvironment: Sendable {
    public let folder: String
    public var python: String { folder + "/bin/python" }

    /// The environment `name` with exactly `packages` (pinned, `name==version`), made if missing.
    public static func make(_ name: String, packages: [String]) throws -> PythonEnvironment {
        let environment = PythonEnvironment(folder: buildProductsDirectory() + "/../test-python/" + name)
        let marker = environment.folder + "/vigil-packages"
        let wanted = packages.joined(separator: "\n")
        if (try? readFile(marker)) == wanted { return environment }
        let log = environment.folder + ".log"
        try writeFile(log, "", makeFolder: true)
        guard try ChildProcess.run("/usr/bin/env", ["python3", "-m", "venv", "--clear", environment.folder], log: log) == 0 else {
            throw TestFailure("cannot make a Python venv (is python3-venv installed?): \(try readFile(log))")
        }
        // Once more if the first try fails: a download from PyPI can break off.
        var installed = false
        for _ in 0..<2 where !installed {
            installed = try ChildProcess.run(environment.python, ["-m", "pip", "install", "-q"] + packages, log: log) == 0
        }
        guard installed else { throw TestFailure("cannot install \(packages) from PyPI: \(try readFile(log))") }
        try writeFile(marker, wanted)
        return environment
    }
}
