/// Reads one JSON object of a file people write, field by field: typed getters whose errors
/// name the file and the field's path (`agent.json: broker.qos: must be 0, 1 or 2, got 3`), and a
/// final check that refuses the fields nobody asked for, since a misspelt setting silently
/// ignored is a setting silently lost.
public final class JSONObjectReader {
    /// The file, as the user named it.
    public let file: String
    /// This object's path in the file, empty at the top.
    public let path: String
    private let fields: [(key: String, value: JSONValue)]
    private var asked: [String] = []

    /// Reads `value`, which must be an object.
    public init(_ value: JSONValue, file: String, path: String = "") throws(ConfigurationError) {
        guard case .object(let fields) = value else {
            throw ConfigurationError(file: file, field: path, problem: "expected an object, got \(value.kindName)")
        }
        self.file = file
        self.path = path
        self.fields = fields
    }

    /// Reads and parses the JSON file at `path`.
    public convenience init(file path: String) throws(ConfigurationError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(FileSystem.read(path))
        } catch let error as JSONParser.SyntaxError {
            throw ConfigurationError(file: path, field: "", problem: error.description)
        } catch {
            throw error as! ConfigurationError
        }
        try self.init(value, file: path)
    }

    /// The path of `key` below this object: `broker.url`, `sensors[1].max`.
    public func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key` (or the object itself, for nil).
    public func error(_ key: String?, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, field: key.map(fieldPath) ?? path, problem: problem)
    }

    /// The raw value of `key`, or nil when absent; `null` counts as absent.
    public func value(_ key: String) -> JSONValue? {
        asked.append(key)
        guard let value = fields.first(where: { $0.key == key })?.value, value != .null else { return nil }
        return value
    }

    private func required(_ key: String) throws(ConfigurationError) -> JSONValue {
        guard let value = value(key) else { throw error(key, "is required") }
        return value
    }

    private func mismatch(_ key: String, _ expected: String, _ found: JSONValue) -> ConfigurationError {
        error(key, "expected \(expected), got \(found.kindName)")
    }

    // MARK: Typed fields

    public func string(_ key: String) throws(ConfigurationError) -> String {
        let value = try required(key)
        guard case .string(let text) = value else { throw mismatch(key, "a string", value) }
        return text
    }

    public func optionalString(_ key: String) throws(ConfigurationError) -> String? {
        guard value(key) != nil else { return nil }
        return try string(key)
    }

    public func double(_ key: String) throws(ConfigurationError) -> Double {
        let value = try required(key)
        guard case .number(let number) = value else { throw mismatch(key, "a number", value) }
        return number
    }

    public func optionalDouble(_ key: String) throws(ConfigurationError) -> Double? {
        guard value(key) != nil else { return nil }
        return try double(key)
    }

    public func integer(_ key: String) throws(ConfigurationError) -> Int {
        let number = try double(key)
        guard number == number.rounded(), abs(number) < 9.007199254740992e15 else {
            throw error(key, "expected an integer, got \(number)")
        }
        return Int(number)
    }

    public func optionalInteger(_ key: String) throws(ConfigurationError) -> Int? {
        guard value(key) != nil else { return nil }
        return try integer(key)
    }

    public func optionalBool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw mismatch(key, "true or false", value) }
        return flag
    }

    /// One of a fixed set of words, e.g. `"kind": "block"`.
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, default fallback: T? = nil) throws(ConfigurationError) -> T
    where T.RawValue == String {
        guard value(key) != nil else {
            if let fallback { return fallback }
            throw error(key, "is required")
        }
        let word = try string(key)
        guard let choice = T(rawValue: word) else {
            throw error(key, "must be one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(word)\"")
        }
        return choice
    }

    public func numbers(_ key: String) throws(ConfigurationError) -> [Double] {
        let value = try required(key)
        guard case .array(let items) = value else { throw mismatch(key, "a list of numbers", value) }
        var numbers: [Double] = []
        numbers.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .number(let number) = item else {
                throw error("\(key)[\(index)]", "expected a number, got \(item.kindName)")
            }
            numbers.append(number)
        }
        return numbers
    }

    public func strings(_ key: String) throws(ConfigurationError) -> [String] {
        let value = try required(key)
        guard case .array(let items) = value else { throw mismatch(key, "a list", value) }
        var texts: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw error("\(key)[\(index)]", "expected a string, got \(item.kindName)")
            }
            texts.append(text)
        }
        return texts
    }

    public func optionalStrings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard value(key) != nil else { return nil }
        return try strings(key)
    }

    public func object(_ key: String) throws(ConfigurationError) -> JSONObjectReader {
        try JSONObjectReader(required(key), file: file, path: fieldPath(key))
    }

    public func objects(_ key: String) throws(ConfigurationError) -> [JSONObjectReader] {
        let value = try required(key)
        guard case .array(let items) = value else { throw mismatch(key, "a list", value) }
        var readers: [JSONObjectReader] = []
        for (index, item) in items.enumerated() {
            readers.append(try JSONObjectReader(item, file: file, path: fieldPath("\(key)[\(index)]")))
        }
        return readers
    }

    /// Refuses any field no getter asked for. Call once every field has been read.
    public func rejectUnknownFields() throws(ConfigurationError) {
        for field in fields where !asked.contains(field.key) {
            let known = Set(asked).sorted().joined(separator: ", ")
            throw error(field.key, "unknown field (known fields here: \(known))")
        }
    }
}
