/// Strings cut to a number of UTF-8 bytes, at a character boundary.
enum BoundedText {
    static let ellipsis = "…"

    static func cut(_ text: String, toBytes limit: Int) -> String {
        if text.utf8.count <= limit { return text }
        let room = limit - ellipsis.utf8.count
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let next = text.index(after: index)
            let size = text.utf8.distance(from: index, to: next)
            if used + size > room { break }
            used += size
            end = next
        }
        return String(text[..<end]) + ellipsis
    }
}
