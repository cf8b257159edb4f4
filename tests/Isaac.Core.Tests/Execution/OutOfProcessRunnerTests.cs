using System.Diagnostics;
using System.Text.Json;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Execution;

public sealed class OutOfProcessRunnerTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly OutOfProcessRunner _runner = new();

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 15_000)]
    public async Task A_handler_receives_the_request_envelope_on_stdin_and_its_response_is_returned()
    {
        // Arrange
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "echo", "echo"));
        var request = Some.Request(command, "one two");

        // Act
        var response = await _runner.RunAsync(command, request);

        // Assert
        Assert.Equal("success", response.Status);
        using var echoed = JsonDocument.Parse(response.Stdout);
        var root = echoed.RootElement;
        Assert.Equal(1, root.GetProperty("protocol_version").GetInt32());
        Assert.Equal("echo", root.GetProperty("command").GetString());
        Assert.Equal(["one", "two"], root.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("test-device", root.GetProperty("session").GetProperty("device").GetString());
        Assert.True(root.TryGetProperty("deadline", out _));
        Assert.Equal("json", response.Kind);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_version_1_handler_that_prints_only_status_and_stdout_gets_defaults_for_the_rest()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "v1", """echo '{"status": "success", "stdout": "plain v1"}'"""));

        var response = await _runner.RunAsync(command, Some.Request(command));

        Assert.Equal("plain v1", response.Stdout);
        Assert.Equal("", response.Stderr);
        Assert.Equal("text", response.Kind);
        Assert.Equal(1, response.ProtocolVersion);
        Assert.Equal(0, response.ExitCode);
        Assert.Empty(response.Meta);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_handler_that_ignores_stdin_and_exits_at_once_still_works()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "quick", """printf '{"status":"success","stdout":"hi"}'"""));

        var response = await _runner.RunAsync(command, Some.Request(command));

        Assert.Equal("hi", response.Stdout);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_handler_that_sleeps_and_forks_is_killed_tree_and_all_at_its_timeout()
    {
        // Arrange: the handler starts a child that would outlive it, records both pids, then sleeps.
        var pids = _dir.Combine("pids");
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "hang",
            $"sleep 60 & echo $! > '{pids}.child'; echo $$ > '{pids}.parent'; sleep 60; wait", timeoutMs: 500));
        var clock = Stopwatch.StartNew();

        // Act
        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        // Assert
        Assert.Equal(ErrorCode.Timeout, ex.Failure);
        Assert.Contains("timed out after 500 ms", ex.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        var parent = int.Parse(File.ReadAllText(pids + ".parent").Trim());
        var child = int.Parse(File.ReadAllText(pids + ".child").Trim());
        await WaitGoneAsync(parent);
        await WaitGoneAsync(child);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_background_child_left_behind_by_a_finished_handler_is_killed()
    {
        var pid = _dir.Combine("pid");
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "leaky",
            $$"""sleep 60 >/dev/null 2>&1 & echo $! > '{{pid}}'; echo '{"status":"success","stdout":"ok"}'"""));

        var response = await _runner.RunAsync(command, Some.Request(command));

        Assert.Equal("ok", response.Stdout);
        await WaitGoneAsync(int.Parse(File.ReadAllText(pid).Trim()));
    }

    [Fact(Timeout = 15_000)]
    public async Task A_stderr_flood_is_capped_but_the_handler_still_answers()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "noisy", "stderr-flood", 10L << 20));

        var response = await _runner.RunAsync(command, Some.Request(command));

        Assert.Equal("done", response.Stdout);
    }

    [Fact(Timeout = 15_000)]
    public async Task Garbage_on_stdout_is_a_protocol_error_quoting_what_was_printed()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "garbage", "garbage"));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.ProtocolError, ex.Failure);
        Assert.Contains("this is not json", ex.Message);
        Assert.Contains("docs/protocol.md", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task Silence_on_stdout_is_a_protocol_error()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "silent", "true"));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.ProtocolError, ex.Failure);
        Assert.Contains("printed nothing", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_response_without_status_is_a_protocol_error()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "nostatus", """echo '{"stdout": "x"}'"""));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.ProtocolError, ex.Failure);
        Assert.Contains("status", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_non_zero_exit_without_a_response_is_reported_with_the_code_and_stderr()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "fail", "exit", 7));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.HandlerFailed, ex.Failure);
        Assert.Equal(7, ex.ExitCode);
        Assert.Contains("exited with code 7", ex.Message);
        Assert.Contains("failing on purpose with 7", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task An_error_response_keeps_its_message_and_the_process_exit_code()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "err", "error-response"));

        var response = await _runner.RunAsync(command, Some.Request(command));

        Assert.Equal("error", response.Status);
        Assert.Equal("the thing is broken", response.Stderr);
        Assert.Equal(3, response.ExitCode);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_response_from_a_newer_protocol_is_refused()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "future", "future"));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.ProtocolError, ex.Failure);
        Assert.Contains("protocol version 99", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_missing_interpreter_is_named_in_the_error()
    {
        _dir.Write("py/run.py", "print('{}')\n");
        var path = _dir.Write("py/command.yaml", TestManifests.Yaml("py", "run.py", extraRuntime: "  interpreter: python-that-does-not-exist"));
        var command = await TestManifests.LoadAsync(path);

        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.HandlerFailed, ex.Failure);
        Assert.Contains("interpreter 'python-that-does-not-exist' was not found", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_script_without_execute_permission_says_how_to_fix_it()
    {
        _dir.Write("noexec/run.sh", "#!/bin/sh\necho '{}'\n");
        var command = await TestManifests.LoadAsync(_dir.Write("noexec/command.yaml", TestManifests.Yaml("noexec", "run.sh")));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        Assert.Contains("chmod +x", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task Only_allowlisted_environment_variables_reach_a_handler()
    {
        // Arrange
        Environment.SetEnvironmentVariable("ISAAC_TEST_SECRET", "hunter2");
        Environment.SetEnvironmentVariable("ISAAC_TEST_DECLARED", "wanted");
        TestManifests.Handler(_dir.Path, "env", "env");
        var yaml = TestManifests.Yaml("env", "run.sh").Replace("  tier: 1", "  tier: 1\n  env: [ISAAC_TEST_DECLARED]");
        var command = await TestManifests.LoadAsync(_dir.Write("env/command.yaml", yaml));

        // Act
        var response = await _runner.RunAsync(command, Some.Request(command));

        // Assert
        var env = JsonSerializer.Deserialize<Dictionary<string, string>>(response.Stdout)!;
        Assert.False(env.ContainsKey("ISAAC_TEST_SECRET"));
        Assert.Equal("wanted", env["ISAAC_TEST_DECLARED"]);
        Assert.Equal("env", env["ISAAC_COMMAND"]);
        Assert.Equal("test-device", env["ISAAC_DEVICE"]);
        Assert.True(env.ContainsKey("PATH"));
    }

    [Fact(Timeout = 15_000)]
    public async Task The_callers_cancellation_escapes_as_cancellation_and_kills_the_handler()
    {
        var pid = _dir.Combine("pid");
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "slow", $"echo $$ > '{pid}'; sleep 60", timeoutMs: 30_000));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _runner.RunAsync(command, Some.Request(command), cancel.Token));

        await WaitGoneAsync(int.Parse(File.ReadAllText(pid).Trim()));
    }

    private static async Task WaitGoneAsync(int pid)
    {
        // The kill is sent before RunAsync returns; give the kernel a moment to reap.
        for (var i = 0; i < 50 && Fixtures.IsRunning(pid); i++)
        {
            await Task.Delay(20);
        }

        Assert.False(Fixtures.IsRunning(pid), $"process {pid} is still running");
    }
}
