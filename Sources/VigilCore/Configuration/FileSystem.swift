#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file operations Vigil's configuration needs, with errors that name the path.
public enum FileSystem {
    /// The whole file.
    public static func read(_ path: String) throws(ConfigurationError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw ConfigurationError(file: path, field: "", problem: "cannot read the file (\(String(cString: strerror(errno))))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count > 0 { bytes += buffer[0..<count] }
            if count < buffer.count { break }
        }
        guard ferror(file) == 0 else {
            throw ConfigurationError(file: path, field: "", problem: "error reading the file")
        }
        return bytes
    }

    /// The names in a folder, without `.` and `..`, sorted.
    public static func list(_ folder: String) throws(ConfigurationError) -> [String] {
        guard let directory = opendir(folder) else {
            throw ConfigurationError(file: folder, field: "", problem: "cannot list the folder (\(String(cString: strerror(errno))))")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The folder part of a path (`.` when it has none).
    public static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` resolved against `folder` unless it is absolute.
    public static func resolve(_ path: String, against folder: String) -> String {
        path.hasPrefix("/") ? path : folder + "/" + path
    }

    /// Replaces the file at `path` with `bytes` so that a crash leaves either the old file or
    /// the new one, never a torn one: a temp file beside it, fsync, rename, fsync the folder.
    /// `mode` applies from the file's creation (a private key is never readable by others).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(FileError) {
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(path: temp, operation: "create") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            guard count > 0 else {
                let error = FileError(path: temp, operation: "write")
                close(fd)
                unlink(temp)
                throw error
            }
            written += count
        }
        guard fsync(fd) == 0 else {
            let error = FileError(path: temp, operation: "fsync")
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let error = FileError(path: path, operation: "rename \(temp) to")
            unlink(temp)
            throw error
        }
        let folder = open(Self.folder(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw FileError(path: Self.folder(of: path), operation: "open the folder") }
        defer { close(folder) }
        guard fsync(folder) == 0 else { throw FileError(path: Self.folder(of: path), operation: "fsync the folder") }
    }

    /// Removes a file if it is there.
    public static func remove(_ path: String) throws(FileError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileError(path: path, operation: "remove") }
    }
}
