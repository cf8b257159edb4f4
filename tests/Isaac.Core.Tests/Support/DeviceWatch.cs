using System.Diagnostics;
using System.Text.Json;

namespace Isaac.Core.Tests.Support;

/// <summary>
/// What a fault test needs beyond <see cref="HubHarness"/>: extra isaac processes with any environment (a second
/// machine that holds the same device token), POSIX signals (freeze, thaw, kill) that are always undone on
/// dispose, the hub's view of a device, and the hub's own log.
/// </summary>
internal sealed class DeviceWatch(HubHarness hub) : IDisposable
{
    private readonly HashSet<int> _frozen = [];

    /// <summary>Starts <c>isaac arguments…</c> with exactly <paramref name="environment"/>; the harness kills it on dispose.</summary>
    public Process Start(Dictionary<string, string?> environment, params string[] arguments) => hub.StartIsaac(arguments, environment);

    /// <summary>SIGSTOP: the process keeps its sockets open and says nothing. Undone (SIGCONT) on dispose.</summary>
    public void Freeze(Process process)
    {
        _frozen.Add(process.Id);
        Signal("STOP", process.Id);
    }

    /// <summary>SIGCONT.</summary>
    public void Thaw(Process process)
    {
        Signal("CONT", process.Id);
        _frozen.Remove(process.Id);
    }

    /// <summary>Whether the hub shows <paramref name="device"/> online (GET /v1/devices, authenticated as <paramref name="asDevice"/>).</summary>
    public async Task<bool> IsOnlineAsync(string device, string asDevice = "desktop")
    {
        using var http = hub.Http(asDevice);
        using var devices = JsonDocument.Parse(await http.GetStringAsync("/v1/devices"));
        return devices.RootElement.EnumerateArray().Any(d => d.GetProperty("name").GetString() == device && d.GetProperty("online").GetBoolean());
    }

    /// <summary>Polls GET /v1/devices until the device's presence is <paramref name="online"/>; fails after <paramref name="timeout"/>.</summary>
    public async Task WaitForPresenceAsync(string device, bool online, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (await IsOnlineAsync(device) != online)
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"The hub did not show '{device}' {(online ? "online" : "offline")} within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Lines of the hub process's own log (its ISAAC_HOME is <c>hub-home</c> under the harness root) that contain <paramref name="text"/>.</summary>
    public string[] HubLog(string text)
    {
        var logs = Path.Combine(hub.HubHome(), "logs");
        return Directory.Exists(logs)
            ? Directory.GetFiles(logs).SelectMany(ReadShared).Where(line => line.Contains(text, StringComparison.Ordinal)).ToArray()
            : [];
    }

    /// <summary>Lines of a device home's log that contain <paramref name="text"/>.</summary>
    public static string[] HomeLog(string home, string text)
    {
        var logs = Path.Combine(home, "logs");
        return Directory.Exists(logs)
            ? Directory.GetFiles(logs).SelectMany(ReadShared).Where(line => line.Contains(text, StringComparison.Ordinal)).ToArray()
            : [];
    }

    /// <summary>Polls <paramref name="done"/> until it holds; fails with <paramref name="why"/>() after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> done, TimeSpan timeout, Func<string> why)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail(why());
            }

            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        // A stopped process ignores SIGTERM until continued; thaw first, then SIGKILL (which works either way).
        foreach (var pid in _frozen.ToList())
        {
            Signal("CONT", pid);
        }
    }

    // The hub writes its log while we read it: open it shared, like Serilog's shared file sink does.
    private static IEnumerable<string> ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { RedirectStandardError = true })!;
        kill.WaitForExit();
    }
}
