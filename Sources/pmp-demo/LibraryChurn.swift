#if canImport(Glibc)
import Glibc
#endif
import PMP

/// `--churn-libraries RATE`: a thread that loads and unloads small system libraries, RATE times a second (0: as
/// fast as it can), so that every capture finds the loader's image list changed since the last one.
enum LibraryChurn {
    /// Libraries of Debian's base system that nothing in the demo keeps loaded, so each dlclose unmaps them.
    static let libraries = ["libutil.so.1", "libanl.so.1", "libz.so.1", "libbz2.so.1.0"]

    static func start(rate: Double) {
        let interval = rate > 0 ? UInt32(min(1e6, 1e6 / rate)) : 0
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Interval(interval))
        _ = pthread_create(&thread, nil, { raw in
            let interval = Unmanaged<Interval>.fromOpaque(raw!).takeRetainedValue().microseconds
            PMP.registerCurrentThread(name: "library churn")
            var index = 0
            while true {
                if let handle = dlopen(LibraryChurn.libraries[index % LibraryChurn.libraries.count],
                                       RTLD_NOW | RTLD_LOCAL) {
                    dlclose(handle)
                }
                index += 1
                if interval > 0 { usleep(interval) }
            }
        }, box.toOpaque())
        pthread_detach(thread)
    }

    private final class Interval {
        let microseconds: UInt32
        init(_ microseconds: UInt32) { self.microseconds = microseconds }
    }
}
