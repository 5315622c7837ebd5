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
}
