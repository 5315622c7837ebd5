import FoundationEssentials

/// A configuration or profile file that cannot be used, naming the file, the field and the
/// problem, e.g. `agent.json: broker.url: scheme must be mqtt or mqtts, got "http"`.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file at fault, as the user named it.
    public var file: String
    /// The field's path inside the file (`sensors[1].max`), empty for the whole file.
    public var field: String
    /// What is wrong with it.
    public var problem: String

    public init(file: String, field: String, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    public var description: String {
        field.isEmpty ? "\(file): \(problem)" : "\(file): \(field): \(problem)"
    }
}

/// Decoding of the JSON files users write (agent config, device profiles): strict about unknown
/// fields, since a misspelt field silently ignored is a setting silently lost.
public enum StrictJSON {
    /// Decodes `T` from the file at `path`, turning every failure into a `ConfigurationError`.
    public static func decode<T: Decodable>(_ type: T.Type, fromFile path: String) throws(ConfigurationError) -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(file: path, field: "", problem: "cannot read the file (\(error))")
        }
        return try decode(type, from: data, file: path)
    }

    /// Decodes `T` from `data`, naming `file` in errors.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws(ConfigurationError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as ConfigurationError {
            throw error
        } catch let error as DecodingError {
            throw describe(error, file: file)
        } catch {
            throw ConfigurationError(file: file, field: "", problem: "\(error)")
        }
    }

    static func describe(_ error: DecodingError, file: String) -> ConfigurationError {
        switch error {
        case .typeMismatch(let type, let context):
            return ConfigurationError(file: file, field: path(context.codingPath),
                                      problem: "expected \(typeName(type))")
        case .valueNotFound(let type, let context):
            return ConfigurationError(file: file, field: path(context.codingPath),
                                      problem: "expected \(typeName(type)), got null")
        case .keyNotFound(let key, let context):
            return ConfigurationError(file: file, field: path(context.codingPath + [key]), problem: "is required")
        case .dataCorrupted(let context):
            let problem = context.codingPath.isEmpty ? "not valid JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription))"
                                                     : context.debugDescription
            return ConfigurationError(file: file, field: path(context.codingPath), problem: problem)
        @unknown default:
            return ConfigurationError(file: file, field: "", problem: "\(error)")
        }
    }

    /// `broker.tls.ca_file`, `sensors[2].min`.
    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is UInt16.Type: "an integer"
        case is Double.Type: "a number"
        default: type is any Collection.Type ? "a list" : "an object"
        }
    }
}

/// Any key of a JSON object, for listing the ones a type does not know.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
}

extension Decoder {
    /// Refuses fields that `Keys` does not list, so a typo is an error rather than a default.
    public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let known = Set(Keys.allCases.map(\.stringValue))
        let container = try container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys where !known.contains(key.stringValue) {
            let expected = Keys.allCases.map(\.stringValue).sorted().joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [key],
                debugDescription: "unknown field (known fields here: \(expected))"))
        }
    }

    /// A semantic error at `field` below the current path, in the same form as a decoding error.
    public func invalid(_ field: (any CodingKey)?, _ problem: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath + (field.map { [$0] } ?? []), debugDescription: problem))
    }
}
