import FuzzSupport
import PMPProfiles

FuzzDriver.run { input in
    guard let profile = try? SpeedscopeParser.parse(String(decoding: input, as: UTF8.self)) else { return }
    ProfileHarness.render(profile)
}
