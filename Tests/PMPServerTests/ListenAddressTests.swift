import PMP
import PMPServer
import PMPTestSupport
import Testing

@Suite("PMP_LISTEN addresses and the environment") struct ListenAddressTests {
    @Test("parse: host:port, :port, [IPv6]:port, unix paths; nil for anything else")
    func parse() {
        let cases: [(String, ListenAddress?)] = [
            ("127.0.0.1:9084", .tcp(host: "127.0.0.1", port: 9084)),
            (":9084", .tcp(host: "127.0.0.1", port: 9084)),
            ("9084", .tcp(host: "127.0.0.1", port: 9084)),
            ("[::1]:9084", .tcp(host: "::1", port: 9084)),
            ("localhost:0", .tcp(host: "localhost", port: 0)),
            ("0.0.0.0:80", .tcp(host: "0.0.0.0", port: 80)),
            ("/run/app/pmp.sock", .unix(path: "/run/app/pmp.sock")),
            ("./pmp.sock", .unix(path: "./pmp.sock")),
            ("unix:pmp.sock", .unix(path: "pmp.sock")),
            (" 127.0.0.1:9084 ", .tcp(host: "127.0.0.1", port: 9084)),
            ("", nil), ("127.0.0.1", nil), ("127.0.0.1:", nil), ("127.0.0.1:65536", nil), ("::1:9084", nil),
            ("[::1]", nil), ("[127.0.0.1]:80", nil), ("host name:80", nil), ("127.0.0.1:-1", nil), ("unix:", nil),
        ]
        for (text, expected) in cases {
            #expect(ListenAddress.parse(text) == expected, "\(text.debugDescription)")
        }
        #expect(ListenAddress.tcp(host: "::1", port: 9084).description == "[::1]:9084")
        #expect(ListenAddress.tcp(host: "127.0.0.1", port: 9084).description == "127.0.0.1:9084")
    }

    @Test("loopback: 127/8, ::1, localhost and unix sockets; everything else is reachable from outside")
    func loopback() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"] {
            #expect(ListenAddress.tcp(host: host, port: 1).isLoopback, "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com", "127.0.0.1.example.com"] {
            #expect(!ListenAddress.tcp(host: host, port: 1).isLoopback, "\(host)")
        }
        #expect(ListenAddress.unix(path: "/tmp/x").isLoopback)
    }

    @Test("the environment: PMP_LISTEN, PMP_TOKEN, PMP_ALLOW_INSECURE")
    func environment() throws {
        #expect(try PMPServerConfiguration.fromEnvironment([:]) == nil)
        #expect(try PMPServerConfiguration.fromEnvironment(["PMP_LISTEN": ""]) == nil)
        let plain = try #require(try PMPServerConfiguration.fromEnvironment(["PMP_LISTEN": ":9084", "PMP_TOKEN": ""]))
        #expect(plain.listen == .tcp(host: "127.0.0.1", port: 9084))
        #expect(plain.token == nil && !plain.allowInsecureNonLoopback)
        let full = try #require(try PMPServerConfiguration.fromEnvironment(
            ["PMP_LISTEN": "0.0.0.0:9084", "PMP_TOKEN": "abc", "PMP_ALLOW_INSECURE": "1"]))
        #expect(full.listen == .tcp(host: "0.0.0.0", port: 9084))
        #expect(full.token == "abc" && full.allowInsecureNonLoopback)
        #expect(throws: PMPServerError.invalidListenAddress("nonsense")) {
            try PMPServerConfiguration.fromEnvironment(["PMP_LISTEN": "nonsense"])
        }
    }
}
