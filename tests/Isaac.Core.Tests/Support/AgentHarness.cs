using Isaac.Core.Devices;
using Isaac.Core.Manifests;

namespace Isaac.Core.Tests.Support;

/// <summary>Helpers for running real <see cref="DeviceAgent"/>s in-process against a <see cref="ScriptedHub"/>.</summary>
internal static class AgentHarness
{
    /// <summary>Options for tests: fast reconnects and lock retries, a heartbeat slow enough not to trip on a loaded machine.</summary>
    public static AgentOptions Options(ScriptedHub hub, string home, int capacity = 4, int window = 32) => new()
    {
        Hub = hub.Address,
        Token = "isk_test",
        Device = "laptop2",
        Home = home,
        Capacity = capacity,
        Window = window,
        MinReconnect = TimeSpan.FromMilliseconds(50),
        MaxReconnect = TimeSpan.FromMilliseconds(500),
        Heartbeat = TimeSpan.FromSeconds(3),
        LockRetry = TimeSpan.FromMilliseconds(100),
    };

    public static DeviceAgent Start(AgentOptions options, RunRecorder recorder, CommandCatalog? catalog = null, ListLogger<DeviceAgent>? logger = null)
    {
        var agent = new DeviceAgent(options, catalog ?? CommandCatalog.Empty, recorder.RunAsync, logger: logger);
        agent.Start();
        return agent;
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails naming <paramref name="what"/> after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(20);
        }
    }
}
