using System.Diagnostics;

namespace Isaac.Core.Tests.Support;

/// <summary>The Isaac.Tests.QueueDriver fixture as a real second process, its output lines collected as they come.</summary>
internal sealed class QueueDriverProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private QueueDriverProcess(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(Fixtures.QueueDriver) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        _process = Process.Start(startInfo)!;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (_lines)
                {
                    _lines.Add(line);
                }
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (_lines)
                {
                    _lines.Add("stderr: " + line);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static QueueDriverProcess Start(params string[] arguments) => new(arguments);

    public int Pid => _process.Id;

    /// <summary>Ids the driver printed with the given verb ("ack", "claimed").</summary>
    public long[] Ids(string verb)
    {
        lock (_lines)
        {
            return _lines.Where(l => l.StartsWith(verb + " ", StringComparison.Ordinal)).Select(l => long.Parse(l[(verb.Length + 1)..])).ToArray();
        }
    }

    public async Task WaitForAsync(string verb, int count)
    {
        var clock = Stopwatch.StartNew();
        while (Ids(verb).Length < count)
        {
            if (_process.HasExited && Ids(verb).Length < count)
            {
                Assert.Fail($"driver exited with {_process.ExitCode} after {Ids(verb).Length} '{verb}' lines");
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"only {Ids(verb).Length} '{verb}' lines");
            await Task.Delay(5);
        }
    }

    /// <summary>Waits for the driver to finish and fails the test with its stderr unless it exits cleanly.</summary>
    public async Task ExitCleanlyAsync()
    {
        await _process.WaitForExitAsync();
        _process.WaitForExit(); // flushes the asynchronous output readers
        if (_process.ExitCode != 0)
        {
            lock (_lines)
            {
                Assert.Fail($"driver exited with {_process.ExitCode}:\n{string.Join('\n', _lines.Where(l => l.StartsWith("stderr: ", StringComparison.Ordinal)))}");
            }
        }
    }

    /// <summary>SIGKILL: no chance to flush, commit or clean up.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
