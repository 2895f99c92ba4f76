import FuzzSupport
@testable import PMPClient

/// The input, handed out in pieces of a size the input's length chooses, as a socket may.
final class PiecewiseSource: ByteSource {
    let bytes: [UInt8]
    let pieceSize: Int
    var offset = 0

    init(_ bytes: [UInt8], pieceSize: Int) {
        self.bytes = bytes
        self.pieceSize = pieceSize
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPClientError) -> Int {
        let count = min(pieceSize, buffer.count, bytes.count - offset)
        buffer.copyBytes(from: bytes[offset..<(offset + count)])
        offset += count
        return count
    }
}

// The CLI's reader of HTTP answers: status line, headers, Content-Length, chunked and read-to-close bodies.
FuzzDriver.run { input in
    let bytes = Array(input)
    let pieceSizes = [1, 7, 4096, 1 << 20]
    let source = PiecewiseSource(bytes, pieceSize: pieceSizes[bytes.count % pieceSizes.count])
    let maxBodyBytes = 4096
    var reader = HTTPResponseReader(source: source, name: "fuzz", maxBodyBytes: maxBodyBytes)
    guard let response = try? reader.read(requestMethod: bytes.count % 5 == 0 ? "HEAD" : "GET") else { return }
    // A chunked or read-to-close body may exceed the limit by at most one read; a sized one never.
    guard response.body.count <= maxBodyBytes + 64 * 1024 else {
        fatalError("a body of \(response.body.count) bytes passed a limit of \(maxBodyBytes)")
    }
}
