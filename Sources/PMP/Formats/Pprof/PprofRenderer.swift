/// gzipped pprof protobuf.
public enum PprofRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> [UInt8] { [] }
}
