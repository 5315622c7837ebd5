/// A throwaway certificate authority and certificates made by `openssl` for one test: a CA, a
/// server certificate for 127.0.0.1 and localhost, and a client certificate.
public struct TestCertificates: Sendable {
    public let caFile: String
    public let serverCertFile: String
    public let serverKeyFile: String
    public let clientCertFile: String
    public let clientKeyFile: String

    public init(in directory: TemporaryDirectory) throws {
        let log = directory.file("openssl.log")
        func openssl(_ arguments: [String]) throws {
            let status = try ChildProcess.run("openssl", arguments, log: log)
            guard status == 0 else { throw TestFailure("openssl \(arguments.first ?? "") failed: \((try? readFile(log)) ?? "")") }
        }
        caFile = directory.file("ca.crt")
        let caKey = directory.file("ca.key")
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Vigil Test CA",
                     "-keyout", caKey, "-out", caFile])
        try writeFile(directory.file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        serverKeyFile = directory.file("server.key")
        serverCertFile = directory.file("server.crt")
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                     "-keyout", serverKeyFile, "-out", directory.file("server.csr")])
        try openssl(["x509", "-req", "-in", directory.file("server.csr"), "-CA", caFile, "-CAkey", caKey,
                     "-CAcreateserial", "-days", "2", "-extfile", directory.file("server.ext"), "-out", serverCertFile])
        clientKeyFile = directory.file("client.key")
        clientCertFile = directory.file("client.crt")
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=vigil-client",
                     "-keyout", clientKeyFile, "-out", directory.file("client.csr")])
        try openssl(["x509", "-req", "-in", directory.file("client.csr"), "-CA", caFile, "-CAkey", caKey,
                     "-CAcreateserial", "-days", "2", "-out", clientCertFile])
    }
}
