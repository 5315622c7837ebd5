/// What an outbox row points at: a row of `features`, `maintenance_events`, `predictions` or
/// `readings`.
enum OutboxKind: Int64 {
    case feature = 1
    case event = 2
    case prediction = 3
    case reading = 4
}
