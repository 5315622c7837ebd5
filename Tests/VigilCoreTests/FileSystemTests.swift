#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilCore
import VigilTestSupport

@Suite("Files replaced atomically")
struct FileSystemTests {
    /// A write replaces the whole file with its mode from the start and leaves no temp file; a
    /// write that cannot happen says where and why, and leaves the old file as it was.
    @Test func replacesWholeFilesAndSaysWhyNot() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("secret.key")
        try FileSystem.writeAtomically(Array("first\n".utf8), to: path, mode: 0o600)
        try FileSystem.writeAtomically(Array("second\n".utf8), to: path, mode: 0o600)
        #expect(try readFile(path) == "second\n")
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try FileSystem.list(directory.path) == ["secret.key"], "no temp file left")

        let error = try #require(throws: FileError.self) {
            try FileSystem.writeAtomically([1, 2, 3], to: directory.file("missing/folder/file"))
        }
        #expect(error.description.hasPrefix("cannot create \(directory.file("missing/folder/file.tmp")): No such file"))
        #expect(try readFile(path) == "second\n")
    }
}
