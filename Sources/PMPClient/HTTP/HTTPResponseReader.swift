import PMPSupport

/// Something bytes are read from: the socket, or (in tests) bytes in memory.
package protocol ByteSource {
    /// Reads what is there, waiting for something first; 0 at the end of the stream.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPClientError) -> Int
}

extension SocketConnection: ByteSource {}

/// Reads one HTTP/1.x answer: the status line, the headers, and a body framed by `Content-Length`, by chunks
/// (`Transfer-Encoding: chunked`, trailers skipped), or by the end of the connection.
package struct HTTPResponseReader<Source: ByteSource> {
    private let source: Source
    /// How the peer is named in errors.
    private let name: String
    private let maxBodyBytes: Int
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    private var position = 0
    private var ended = false

    package static var maxHeadBytes: Int { 64 * 1024 }

    package init(source: Source, name: String, maxBodyBytes: Int) {
        self.source = source
        self.name = name
        self.maxBodyBytes = maxBodyBytes
    }

    /// The answer to a request made with `method` (a HEAD answer has no body whatever its headers say).
    package mutating func read(requestMethod method: String) throws(HTTPClientError) -> HTTPResponse {
        var head = try readHead()
        // Interim answers (100 Continue, 103 Early Hints) come before the real one.
        while (100..<200).contains(head.status) && head.status != 101 { head = try readHead() }
        let body: [UInt8]
        if method == "HEAD" || head.status == 204 || head.status == 304 || (100..<200).contains(head.status) {
            body = []
        } else if let encoding = head.header("transfer-encoding"),
                  encoding.lowercased().split(separator: ",").contains(where: { String($0).trimmingBlanks() == "chunked" }) {
            body = try readChunkedBody()
        } else if let lengthText = head.header("content-length") {
            guard let length = Self.number(lengthText.trimmingBlanks(), radix: 10) else {
                throw .malformedResponse(name, reason: "Content-Length \"\(lengthText.prefix(40))\" is not a length")
            }
            guard length <= maxBodyBytes else { throw .responseTooLarge(name, limit: maxBodyBytes) }
            body = try take(length, what: "the body")
        } else {
            body = try readToEnd()
        }
        return HTTPResponse(status: head.status, reason: head.reason, headers: head.headers, body: body)
    }

    // MARK: - Head

    private struct Head {
        var status: Int
        var reason: String
        var headers: [(name: String, value: String)]
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
    }

    private mutating func readHead() throws(HTTPClientError) -> Head {
        // The whole head must fit in `maxHeadBytes`.
        var budget = Self.maxHeadBytes
        let statusLine = try readLine(what: "the status line", limit: budget)
        budget -= statusLine.utf8.count + 2
        // "HTTP/1.1 200 OK"; the reason phrase may be empty or missing.
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            let shown = statusLine.count > 60 ? String(statusLine.prefix(60)) + "…" : statusLine
            throw .malformedResponse(name, reason: "the answer starts with \"\(shown)\"")
        }
        var headers: [(name: String, value: String)] = []
        while true {
            let line = try readLine(what: "the headers", limit: budget)
            budget -= line.utf8.count + 2
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else {
                throw .malformedResponse(name, reason: "a header line without a colon: \"\(line.prefix(60))\"")
            }
            headers.append((String(line[..<colon]).trimmingBlanks(), String(line[line.index(after: colon)...]).trimmingBlanks()))
        }
        return Head(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers)
    }

    /// A length from the peer: digits only (no sign, no blanks, no "0x"), at most 15 of them, so that it cannot
    /// be negative and sums of it cannot overflow. Nil for anything else.
    package static func number(_ text: String, radix: Int) -> Int? {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        var value = 0
        for byte in digits {
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = Int(byte - UInt8(ascii: "A")) + 10
            default: return nil
            }
            value = value * radix + digit
        }
        return value
    }

    // MARK: - Bodies

    private mutating func readChunkedBody() throws(HTTPClientError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try readLine(what: "a chunk size line", limit: 1024)
            let sizeText = sizeLine.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingBlanks() } ?? ""
            guard let size = Self.number(sizeText, radix: 16) else {
                throw .malformedResponse(name, reason: "a chunk size line \"\(sizeLine.prefix(40))\"")
            }
            if size == 0 { break }
            guard body.count + size <= maxBodyBytes else { throw .responseTooLarge(name, limit: maxBodyBytes) }
            body.append(contentsOf: try take(size, what: "a chunk"))
            let end = try readLine(what: "the end of a chunk", limit: 1024)
            guard end.isEmpty else { throw .malformedResponse(name, reason: "a chunk longer than its size") }
        }
        // Trailers, up to the empty line.
        var budget = Self.maxHeadBytes
        while true {
            let trailer = try readLine(what: "the trailers", limit: budget)
            if trailer.isEmpty { break }
            budget -= trailer.utf8.count + 2
        }
        return body
    }

    private mutating func readToEnd() throws(HTTPClientError) -> [UInt8] {
        while !ended {
            guard buffer.count - position <= maxBodyBytes else { throw .responseTooLarge(name, limit: maxBodyBytes) }
            try fill()
        }
        guard buffer.count - position <= maxBodyBytes else { throw .responseTooLarge(name, limit: maxBodyBytes) }
        defer { position = buffer.count }
        return Array(buffer[position...])
    }

    // MARK: - Buffer

    /// The next line without its CR LF (a bare LF is accepted too), at most `limit` bytes long.
    private mutating func readLine(what: String, limit: Int) throws(HTTPClientError) -> String {
        // Bytes after `position` already searched; relative, because `fill` may move what is kept.
        var searched = 0
        while true {
            if let newline = buffer[(position + searched)...].firstIndex(of: UInt8(ascii: "\n")) {
                guard newline - position <= limit else { throw tooLong(what, limit) }
                var end = newline
                if end > position, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = newline + 1
                return line
            }
            searched = buffer.count - position
            guard searched <= limit else { throw tooLong(what, limit) }
            guard !ended else { throw endedEarly(what) }
            try fill()
        }
    }

    private func tooLong(_ what: String, _ limit: Int) -> HTTPClientError {
        .malformedResponse(name, reason: "\(what): more than \(max(0, limit)) bytes without a line end")
    }

    private mutating func take(_ count: Int, what: String) throws(HTTPClientError) -> [UInt8] {
        guard count >= 0 else { throw .malformedResponse(name, reason: "\(what): a negative length") }
        while buffer.count - position < count {
            guard !ended else { throw endedEarly(what) }
            try fill()
        }
        defer { position += count }
        return Array(buffer[position..<(position + count)])
    }

    /// Reads more from the source; compacts what was consumed first so the buffer does not grow with it. The
    /// read goes to `chunk`, so a peer sending a byte at a time costs a byte's work per read, not the chunk's.
    private mutating func fill() throws(HTTPClientError) {
        if position > 0, position >= buffer.count / 2 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        let source = self.source
        let outcome: Result<Int, HTTPClientError> = chunk.withUnsafeMutableBytes { raw in
            Result { () throws(HTTPClientError) -> Int in try source.receive(into: raw) }
        }
        let received = try outcome.get()
        buffer.append(contentsOf: chunk[..<received])
        if received == 0 { ended = true }
    }

    private func endedEarly(_ what: String) -> HTTPClientError {
        .connectionBroken(name, reason: "the connection closed in the middle of \(what)")
    }
}
