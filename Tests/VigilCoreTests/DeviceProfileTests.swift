import Testing
import VigilCore
import VigilTestSupport

@Suite("Device profiles")
struct DeviceProfileTests {
    static let valid = """
        {"type": "pump", "topics": ["plant/pump/{device}/{sensor}"], "timestamp_unit": "ms",
         "sensors": [{"name": "pressure", "unit": "bar", "kind": "value", "min": 0, "max": 40},
                     {"name": "vibration", "unit": "g", "kind": "block", "rate_hz": 2048, "min": -50, "max": 50}]}
        """

    func loadError(_ files: [String: String]) throws -> ConfigurationError? {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (name, text) in files { try writeFile(directory.file(name), text) }
        do {
            _ = try DeviceProfile.loadAll(folder: directory.path)
            return nil
        } catch {
            return error
        }
    }

    @Test func loadsAValidProfile() throws {
        #expect(try loadError(["pump.json": Self.valid]) == nil)
    }

    /// The profiles shipped in devices/ load, so the README's commands work.
    @Test func shippedProfilesLoad() throws {
        let folder = String(#filePath.split(separator: "/Tests/").first!) + "/devices"
        let profiles = try DeviceProfile.loadAll(folder: folder)
        #expect(profiles.count >= 3)
    }

    @Test(arguments: [
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [], "colour": 1}"#, "colour", "unknown field"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"]}"#, "sensors", "is required"),
        (#"{"type": "pump", "topics": ["p/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": 0, "max": 1}]}"#,
         "topics[0]", "needs a {device} segment"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": 2, "max": 1}]}"#,
         "sensors[0].max", "must be greater than min"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "block", "min": 0, "max": 1}]}"#,
         "sensors[0].rate_hz", "positive rate_hz"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "wave", "min": 0, "max": 1}]}"#,
         "sensors[0].kind", ""),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": "0", "max": 1}]}"#,
         "sensors[0].min", "expected a number"),
        (#"{"type": "pump", "topics": ["p/{device}/x"], "sensors": [{"name": "a", "unit": "", "kind": "block", "rate_hz": 1, "min": 0, "max": 1}]}"#,
         "topics", "block sensor"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": 0, "max": 1}, {"name": "a", "unit": "", "kind": "value", "min": 0, "max": 1}]}"#,
         "sensors", "listed twice"),
        (##"{"type": "pump", "topics": ["#;"##, "", "not valid JSON"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": 0, "max": 1}], "features": [{"sensor": "b", "window": {"size": 4, "hop": 1}, "features": ["rms"]}]}"#,
         "features[0].sensor", "no sensor \"b\""),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": 0, "max": 1}], "features": [{"sensor": "a", "window": {"size": 4, "hop": 1}, "features": ["rms", "band_0_100"]}]}"#,
         "features[0].features[1]", "needs a block sensor"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": 0, "max": 1}], "features": [{"sensor": "a", "window": {"seconds": 60}, "features": ["rms"]}]}"#,
         "features[0].window.hop_seconds", "is required"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "value", "min": 0, "max": 1}], "features": [{"sensor": "a", "window": {"size": 4, "hop": 1}, "features": ["median"]}]}"#,
         "features[0].features[0]", "unknown feature"),
        (#"{"type": "pump", "topics": ["p/{device}/{sensor}"], "sensors": [{"name": "a", "unit": "", "kind": "block", "rate_hz": 1024, "min": 0, "max": 1}], "features": [{"sensor": "a", "window": {"size": 1024, "hop": 1024}, "features": ["rms", "envelope_bpfo"]}]}"#,
         "features[0].features[1]", "needs the profile's machine"),
    ])
    func refusalsNameFileAndField(text: String, field: String, problem: String) throws {
        let error = try #require(try loadError(["pump.json": text]))
        #expect(error.file.hasSuffix("/pump.json"))
        #expect(error.field == field, "\(error)")
        #expect(error.problem.contains(problem), "\(error)")
    }

    @Test func refusesTwoProfilesClaimingTheSameTopics() throws {
        let overlapping = Self.valid.replacing("\"type\": \"pump\"", with: "\"type\": \"compressor\"")
            .replacing("plant/pump/{device}/{sensor}", with: "plant/{device}/vibration/{sensor}")
        let error = try #require(try loadError(["a.json": Self.valid, "b.json": overlapping]))
        #expect(error.file.hasSuffix("/b.json"))
        #expect(error.field == "topics[0]")
        #expect(error.problem.contains("a.json"))
    }
}
