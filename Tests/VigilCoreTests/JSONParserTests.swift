import Testing
import VigilCore

@Suite("JSON for config files and status")
struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\"\\\/\n\u00e9\ud83d\ude00"}} "#)
        #expect(value == ["a": [1, -2500, true, false, .null], "b": ["c": "x\"\\/\né😀"]])
    }

    @Test func serializesWhatItParses() throws {
        let value: JSONValue = ["name": "tab\tquote\"", "n": 3, "x": 0.25, "list": [], "nested": ["ok": true]]
        #expect(try JSONParser.parse(value.serialized()) == value)
        #expect(value.serialized(indent: 0) == #"{"name":"tab\tquote\"","n":3,"x":0.25,"list":[],"nested":{"ok":true}}"#)
    }

    @Test(arguments: [
        ("{\"a\": 1,}", 1, 9),
        ("{\n  \"a\": [1 2]\n}", 2, 11),
        ("{\"a\": NaN}", 1, 7),
        ("{\"a\": 1} x", 1, 10),
        ("{\"a\": 1, \"a\": 2}", 1, 13),
        ("[\"\\x\"]", 1, 4),
        ("", 1, 1),
    ])
    func reportsWhereTheTextIsWrong(text: String, line: Int, column: Int) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
        }
    }

    @Test func readerNamesFieldsAndRefusesUnknownOnes() throws {
        let reader = try JSONObjectReader(["a": "x", "n": 2.5, "sub": ["k": 1], "typo": 1], file: "f.json")
        #expect(try reader.string("a") == "x")
        #expect(throws: ConfigurationError(file: "f.json", field: "n", problem: "expected an integer, got 2.5")) {
            try reader.integer("n")
        }
        #expect(throws: ConfigurationError(file: "f.json", field: "sub.k", problem: "expected a string, got a number")) {
            try reader.object("sub").string("k")
        }
        #expect(throws: ConfigurationError(file: "f.json", field: "missing", problem: "is required")) {
            try reader.double("missing")
        }
        #expect(throws: ConfigurationError.self) { try reader.rejectUnknownFields() }
    }
}
