using System.Diagnostics;
using System.Text;

namespace Isaac.Core.Tests.Support;

/// <summary>
/// tests/agents/python_agent.py as a real process: a device agent written from docs/hub-protocol.md alone, so the
/// hub is tested against the documented contract rather than against our own C# agent. It keeps its seen ids in
/// the device's home and appends /count runs to <c>count</c> there (read with <see cref="HubHarness.Counted"/>).
/// </summary>
internal sealed class PythonAgent : IDisposable
{
    private readonly StringBuilder _log = new();
    private readonly Process _process;

    private PythonAgent(Process process)
    {
        _process = process;
        Pid = process.Id;
    }

    /// <summary>The agent script, found from the repo root like the other fixtures.</summary>
    public static string Script => Path.Combine(Fixtures.RepoRoot, "tests", "agents", "python_agent.py");

    public int Pid { get; }

    /// <summary>The agent's trace of the WebSocket: one line per message, "&gt; json" sent and "&lt; json" received.</summary>
    public static string Trace(HubHarness hub, string device) => Path.Combine(hub.Home(device), "python-agent-trace.txt");

    /// <summary>What the agent wrote on stderr so far (connections, retries), for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts the agent for <paramref name="device"/>; <paramref name="commands"/> is a folder of executables it may run besides /echo and /count.</summary>
    public static PythonAgent Start(HubHarness hub, string device, int heartbeatMs = 1000, int window = 4, string? commands = null)
    {
        var startInfo = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        startInfo.ArgumentList.Add("-u");
        startInfo.ArgumentList.Add(Script);
        foreach (var (name, value) in hub.Environment(device))
        {
            startInfo.Environment[name] = value;
        }

        startInfo.Environment["ISAAC_AGENT_STATE"] = Path.Combine(hub.Home(device), "python-agent-state.json");
        startInfo.Environment["ISAAC_COUNT_DIR"] = hub.Home(device);
        startInfo.Environment["ISAAC_AGENT_TRACE"] = Trace(hub, device);
        startInfo.Environment["ISAAC_AGENT_HEARTBEAT_MS"] = heartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        startInfo.Environment["ISAAC_AGENT_WINDOW"] = window.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (commands is not null)
        {
            startInfo.Environment["ISAAC_AGENT_COMMANDS"] = commands;
        }

        var agent = new PythonAgent(Process.Start(startInfo)!);
        agent._process.OutputDataReceived += (_, e) => agent.Append(e.Data);
        agent._process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
        agent._process.BeginOutputReadLine();
        agent._process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>Waits until the hub lists <paramref name="device"/> as online (the agent holds its lease).</summary>
    public async Task WaitOnlineAsync(HubHarness hub, string device)
    {
        using var http = hub.Http(device);
        for (var i = 0; i < 200; i++)
        {
            var devices = await http.GetStringAsync("/v1/devices");
            if (devices.Contains($"{{\"name\":\"{device}\",\"online\":true", StringComparison.Ordinal))
            {
                return;
            }

            Assert.False(_process.HasExited, $"the Python agent exited: {Log}");
            await Task.Delay(50);
        }

        Assert.Fail($"the Python agent for '{device}' never came online: {Log}");
    }

    private void Append(string? line)
    {
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
