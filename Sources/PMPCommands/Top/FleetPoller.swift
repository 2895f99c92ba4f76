#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import PMPClient

/// Polls every endpoint once a period, each on a thread of its own: a dead or slow endpoint costs its own
/// thread a timeout and delays no other. After each poll it wakes the screen through `updates`.
final class FleetPoller: Sendable {
    let endpoints: [Endpoint]
    /// Written to after every poll.
    let updates: WakePipe
    private let client: HTTPClient
    private let period: Duration
    private let fetchStacks: Bool
    /// Ask each table where its entries' tasks are (`/procs?tasks=1`, a task capture per poll).
    private let fetchTasks: Bool
    private let states: Mutex<[EndpointState]>
    private let paused = Atomic<Bool>(false)
    /// Closed-for-good signal to the pollers: written once on stop, never drained, so every `poll` on it returns.
    private let stopping: WakePipe
    private let stopped = Atomic<Bool>(false)

    init(endpoints: [Endpoint], client: HTTPClient, period: Duration, fetchStacks: Bool, fetchTasks: Bool = false) throws {
        self.fetchTasks = fetchTasks
        self.endpoints = endpoints
        self.client = client
        self.period = period
        self.fetchStacks = fetchStacks
        states = Mutex(endpoints.map(EndpointState.init))
        updates = try WakePipe()
        stopping = try WakePipe()
    }

    func start() throws {
        for index in endpoints.indices {
            try DetachedThread.start { [self] in self.pollLoop(index) }
        }
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopping.wake()
    }

    var isPaused: Bool {
        get { paused.load(ordering: .acquiring) }
    }

    func setPaused(_ value: Bool) { paused.store(value, ordering: .releasing) }

    /// Every endpoint's state now.
    func snapshot() -> [EndpointState] { states.withLock { $0 } }

    /// Every endpoint has been polled at least once.
    var everyEndpointPolled: Bool { states.withLock { $0.allSatisfy { $0.pollCount > 0 } } }

    private func pollLoop(_ index: Int) {
        let endpoint = endpoints[index]
        while !stopped.load(ordering: .acquiring) {
            let started = Deadline.now()
            if !isPaused {
                let result = poll(endpoint)
                states.withLock { states in Self.record(result, into: &states[index]) }
                updates.wake()
            }
            // Sleep out the period, or until told to stop.
            let next = Deadline(nanoseconds: started.nanoseconds + UInt64(max(0, period.seconds) * 1e9))
            var entry = pollfd(fd: stopping.readDescriptor, events: Int16(POLLIN), revents: 0)
            while !next.hasPassed, !stopped.load(ordering: .acquiring) {
                _ = Glibc.poll(&entry, 1, next.remainingMilliseconds)
            }
        }
    }

    struct PollResult: Sendable {
        var listing: Result<ProcessListing, PollFailure>
        var stacks: Result<StackGroups, PollFailure>?
    }

    struct PollFailure: Error, Sendable {
        var message: String
        /// An HTTP answer came (an error status, or a body that could not be read): reachable, but failing.
        var answered: Bool
    }

    /// One poll: the table, then (if asked and the table came) the grouped stacks.
    func poll(_ endpoint: Endpoint) -> PollResult {
        let listing = fetch(fetchTasks ? "/procs?tasks=1" : "/procs", from: endpoint, decode: ProcessListing.decode)
        guard fetchStacks, case .success = listing else { return PollResult(listing: listing, stacks: nil) }
        return PollResult(listing: listing, stacks: fetch("/stacks?format=json&group=1", from: endpoint, decode: StackGroups.decode))
    }

    private func fetch<T>(_ path: String, from endpoint: Endpoint,
                          decode: ([UInt8]) throws -> T) -> Result<T, PollFailure> {
        let response: HTTPResponse
        do {
            response = try client.get(path, from: endpoint)
        } catch {
            return .failure(PollFailure(message: error.description, answered: false))
        }
        guard response.status == 200 else {
            return .failure(PollFailure(message: EndpointAnswer.failure(response, from: endpoint, hasToken: client.token != nil),
                                        answered: true))
        }
        do {
            return .success(try decode(response.body))
        } catch {
            return .failure(PollFailure(message: "\(endpoint)\(path.prefix { $0 != "?" }): unreadable JSON: \(error)",
                                        answered: true))
        }
    }

    static func record(_ result: PollResult, into state: inout EndpointState) {
        state.pollCount += 1
        switch result.listing {
        case .success(let listing):
            state.listing = listing
            state.listedAt = .now()
            state.failure = nil
            state.failingSince = nil
        case .failure(let failure):
            // An endpoint that does not answer has no requests in flight that we know of.
            if state.failure == nil { state.failingSince = .now() }
            state.failure = failure.message
            state.failureAnswered = failure.answered
            state.listing = nil
            state.listedAt = nil
            state.stacks = nil
        }
        switch result.stacks {
        case .success(let stacks)?:
            state.stacks = stacks
            state.stacksFailure = nil
        case .failure(let failure)?:
            state.stacksFailure = failure.message
        case nil:
            break
        }
    }
}
