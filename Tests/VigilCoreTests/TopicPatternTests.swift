import Testing
import VigilCore

@Suite("Topic patterns and routing")
struct TopicPatternTests {
    func match(_ pattern: String, _ topic: String) throws -> (device: String, sensor: String?)? {
        let compiled = try TopicPattern(pattern)
        var topic = topic
        return topic.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            return compiled.match(raw).map { found in
                (String(decoding: raw[found.device], as: UTF8.self),
                 found.sensor.map { String(decoding: raw[$0], as: UTF8.self) })
            }
        }
    }

    @Test func matchesDeviceAndSensor() throws {
        let found = try #require(try match("plant/{device}/{sensor}", "plant/m07/vibration"))
        #expect(found.device == "m07")
        #expect(found.sensor == "vibration")
        #expect(try match("plant/{device}/{sensor}", "plant/m07") == nil)
        #expect(try match("plant/{device}/{sensor}", "plant/m07/vibration/x") == nil)
        #expect(try match("plant/{device}/{sensor}", "other/m07/vibration") == nil)
        #expect(try match("plant/{device}/{sensor}", "plant//vibration") == nil)
        #expect(try match("site/{device}/telemetry", "site/f1/telemetry")?.sensor == nil)
    }

    @Test func subscriptionAndOverlap() throws {
        #expect(try TopicPattern("plant/{device}/{sensor}").subscription == "plant/+/+")
        #expect(try TopicPattern("{device}/data").subscription == "+/data")
        #expect(try TopicPattern("a/{device}/x").overlaps(TopicPattern("a/{device}/{sensor}")))
        #expect(try !TopicPattern("a/{device}/x").overlaps(TopicPattern("b/{device}/x")))
    }

    @Test(arguments: ["plant/{sensor}", "plant/+/{device}", "a/{device}/{device}", "a/#/{device}", "a/{dev}/x"])
    func refusesBadPatterns(pattern: String) {
        #expect(throws: TopicPattern.Invalid.self) { try TopicPattern(pattern) }
    }

    @Test func routerNamesUnknownTopicsAndSensors() throws {
        let router = TopicRouter(profiles: [PayloadDecoderTests.motor, PayloadDecoderTests.fan])
        #expect(router.subscriptions == ["plant/+/+", "plant/+/telemetry"])
        #expect(try router.route("plant/m1/temperature").get() == .init(profile: 0, device: "m1", sensor: 1))
        // The first profile's pattern wins; profile loading refuses such overlaps in files.
        #expect(throws: PayloadError.self) { try router.route("plant/m1/rpm").get() }
        #expect(throws: PayloadError(.unknownTopic, "no device profile has a topic pattern matching it")) {
            try router.route("elsewhere/m1").get()
        }
    }
}
