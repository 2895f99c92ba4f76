import PMPSupport

extension JSONWriter {
    /// An attribute's value; object keys sorted, so equal values always read the same.
    package mutating func value(_ value: AttributeValue) {
        switch value {
        case .string(let text): string(text)
        case .number(let number): self.number(number)
        case .bool(let flag): bool(flag)
        case .null: null()
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for name in members.keys.sorted() {
                key(name)
                self.value(members[name]!)
            }
            endObject()
        }
    }

    /// A time as RFC 3339 in UTC with up to nine fraction digits, as Go writes a `time.Time`.
    package mutating func time(_ time: WallTime) { string(time.rfc3339) }
}
