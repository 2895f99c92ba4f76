import CZlib

/// gzip compression with zlib, as pprof files are stored on disk.
package enum Gzip {
    /// Why gzip data could not be read or written.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case zlib(operation: String, code: Int32)
        case truncated
        case tooLarge
        case outputBeyond(Int)

        package var description: String {
            switch self {
            case .zlib(let operation, let code): return "zlib \(operation) failed (\(code))"
            case .truncated: return "gzip data ends before its end marker"
            case .tooLarge: return "more than 4 GiB at once"
            case .outputBeyond(let limit): return "it inflates to more than \(limit) bytes"
            }
        }
    }

    /// zlib's windowBits: 15 (a 32 KiB window) + 16 for a gzip header and trailer instead of zlib's own.
    private static let gzipWindowBits: Int32 = 15 + 16
    /// + 32 as well when reading: accept a zlib header too.
    private static let anyHeaderWindowBits: Int32 = 15 + 32
    private static let chunkSize = 64 * 1024

    package static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    package static func compress(_ input: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) throws(Failure) -> [UInt8] {
        // zlib counts input in 32 bits.
        guard input.count <= Int(UInt32.max) else { throw .tooLarge }
        var stream = z_stream()
        let initialized = deflateInit2_(&stream, level, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY,
                                        zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initialized == Z_OK else { throw .zlib(operation: "deflateInit2", code: initialized) }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 + 64)
        let result = input.withUnsafeBufferPointer { whole in
            run(&stream, input: whole, output: &output, flush: Z_FINISH) { deflate($0, $1) }
        }
        guard result == Z_STREAM_END else { throw .zlib(operation: "deflate", code: result) }
        return output
    }

    /// Inflates gzip (or zlib) data; concatenated gzip members are read one after the other, as gunzip does.
    /// More than `maxOutputBytes` out is refused (`outputBeyond`) as soon as it is reached: a few kilobytes of
    /// gzip can stand for gigabytes.
    package static func decompress(_ input: [UInt8], maxOutputBytes: Int = .max) throws(Failure) -> [UInt8] {
        guard input.count <= Int(UInt32.max) else { throw .tooLarge }
        var output: [UInt8] = []
        output.reserveCapacity(min(input.count * 4, maxOutputBytes))
        try input.withUnsafeBufferPointer { (whole: UnsafeBufferPointer<UInt8>) throws(Failure) in
            var offset = 0
            repeat {
                var stream = z_stream()
                let initialized = inflateInit2_(&stream, anyHeaderWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
                guard initialized == Z_OK else { throw .zlib(operation: "inflateInit2", code: initialized) }
                defer { inflateEnd(&stream) }
                // The rest of the input in place: a copy per member would make many small members quadratic.
                let member = UnsafeBufferPointer(rebasing: whole[offset...])
                let result = run(&stream, input: member, output: &output, limit: maxOutputBytes, flush: Z_NO_FLUSH) {
                    inflate($0, $1)
                }
                switch result {
                case Z_STREAM_END: offset += Int(stream.total_in)
                case outputLimitReached: throw .outputBeyond(maxOutputBytes)
                case Z_OK, Z_BUF_ERROR: throw .truncated
                default: throw .zlib(operation: "inflate", code: result)
                }
            } while whole.count - offset >= 2 && whole[offset] == 0x1f && whole[offset + 1] == 0x8b
        }
        return output
    }

    /// What `run` answers when the output would pass its limit (not a zlib code: those are small).
    private static let outputLimitReached = Int32.min

    /// Feeds all of `input` through `step` (deflate or inflate), appending what comes out, until the stream
    /// ends or makes no more progress. Returns the last zlib code.
    private static func run(_ stream: inout z_stream, input inputBuffer: UnsafeBufferPointer<UInt8>,
                            output: inout [UInt8], limit: Int = .max, flush: Int32,
                            step: (UnsafeMutablePointer<z_stream>, Int32) -> Int32) -> Int32 {
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
        stream.avail_in = UInt32(inputBuffer.count)
        while true {
            let (code, produced) = chunk.withUnsafeMutableBufferPointer { chunkBuffer -> (Int32, Int) in
                stream.next_out = chunkBuffer.baseAddress
                stream.avail_out = UInt32(chunkBuffer.count)
                let code = step(&stream, flush)
                return (code, chunkBuffer.count - Int(stream.avail_out))
            }
            if produced > limit - output.count { return outputLimitReached }
            output.append(contentsOf: chunk[..<produced])
            if code != Z_OK { return code }
            // No output room left unused means more may be pending; otherwise all input was taken.
            if produced < chunkSize && stream.avail_in == 0 && flush != Z_FINISH { return Z_OK }
        }
    }
}
