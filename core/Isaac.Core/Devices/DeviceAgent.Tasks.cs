using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Devices;

// Task commands (docs/tasks.md): the agent wakes a long-running program, waits for it to confirm that it started,
// then watches its results folder for the result, each step stored in agent.db before it is acted on or reported,
// so a restarted agent resumes every task where it was and never wakes one twice. A task holds its place in the
// device's order until it is confirmed; from then on it is watched in the background.
public sealed partial class DeviceAgent
{
    // How often a wait re-checks its files when the watcher says nothing (a missed event costs this, never a result).
    private static readonly TimeSpan _taskRecheck = TimeSpan.FromSeconds(1);
    private const int WakeOutputLimit = 16 * 1024;
    private static readonly TimeSpan _wakeOutputGrace = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, Task> _watches = new(StringComparer.Ordinal);

    // Ends the background watches of one serving session (shutdown, or a failure that starts serving over).
    private CancellationTokenSource _watching = new();

    /// <summary>Starts a task the dispatcher checked and bound: stores it, wakes it and waits for its confirmation; null once it works in the background.</summary>
    private async Task<RunResult?> BeginTaskAsync(Assignment assignment, TaskStart start, CancellationToken cancellationToken)
    {
        if (!TaskFiles.IsSafeId(assignment.Id))
        {
            return TaskFailed(assignment.Id, $"the hub's id '{assignment.Id}' cannot name a file; the task was not woken");
        }

        var files = new TaskFiles(Path.Combine(_options.Home, "tasks", start.Command.Name), assignment.Id);
        Directory.CreateDirectory(files.Folder);
        files.WriteRequest(JsonSerializer.SerializeToUtf8Bytes(start.Request, IsaacJson.Default.CommandRequest));
        var task = new TaskRow(assignment.Id, TaskPhase.Waking, 0, false, null, files.Folder, _time.GetUtcNow());
        Store.SaveTask(task);
        return await DriveTaskAsync(task, start.Command, start.Request, resumed: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves a task on from its stored state until it has a result, or (when not resumed) until it works and may be watched in the background.</summary>
    private async Task<RunResult?> DriveTaskAsync(TaskRow task, LoadedCommand command, CommandRequest request, bool resumed, CancellationToken cancellationToken)
    {
        var runtime = command.Manifest.Runtime;
        var files = new TaskFiles(task.Folder, task.Id);
        while (true)
        {
            switch (task.State)
            {
                case TaskPhase.Waking when task.WakeRunning || runtime.WakeCommand.Length == 0 || files.Started:
                    // A wake whose end was never recorded may have woken it: it is confirmed or failed, never woken again.
                    // Self-start mode: the request file in the results folder is the hand-over.
                    task = Save(task with { State = TaskPhase.Confirming, WakeRunning = false, DueAt = _time.GetUtcNow() + Ms(runtime.ConfirmTimeoutMs) });
                    break;
                case TaskPhase.Waking:
                    if (task.DueAt is { } retryAt && retryAt > _time.GetUtcNow())
                    {
                        await Task.Delay(retryAt - _time.GetUtcNow(), _time, cancellationToken).ConfigureAwait(false);
                    }

                    task = Save(task with { Attempts = task.Attempts + 1, WakeRunning = true });
                    Phase(task);
                    var problem = await WakeAsync(command, files, request, cancellationToken).ConfigureAwait(false);
                    if (problem is null)
                    {
                        task = Save(task with { State = TaskPhase.Confirming, WakeRunning = false, DueAt = _time.GetUtcNow() + Ms(runtime.ConfirmTimeoutMs) });
                        break;
                    }

                    var retries = runtime.WakeRetryMs;
                    if (task.Attempts > retries.Length)
                    {
                        return TaskFailed(task.Id, $"wake_failed_after_{retries.Length}_attempts: {problem}");
                    }

                    var pause = Ms(retries[task.Attempts - 1]);
                    _logger.LogWarning("Waking task #{Id} failed (attempt {Attempt} of {Attempts}): {Problem}; next attempt in {Pause} s",
                        task.Id, task.Attempts, retries.Length + 1, problem, pause.TotalSeconds);
                    task = Save(task with { WakeRunning = false, DueAt = _time.GetUtcNow() + pause });
                    break;
                case TaskPhase.Confirming:
                    Phase(task);
                    if (!await WaitForAsync(files, () => files.Started, task.DueAt, cancellationToken).ConfigureAwait(false))
                    {
                        return TaskFailed(task.Id, $"not_confirmed: no {task.Id}.started in {files.Folder} within {runtime.ConfirmTimeoutMs} ms; the task is not woken again");
                    }

                    task = Save(task with { State = TaskPhase.Working, DueAt = _time.GetUtcNow() + Ms(runtime.ResultTimeoutMs) });
                    break;
                default:
                    if (!resumed)
                    {
                        // Confirmed: the device goes on with its next commands while this one works. (A resumed task's
                        // phase is said on each connection.)
                        Phase(task);
                        Watch(task, command, request);
                        return null;
                    }

                    CommandResponse? result = null;
                    if (!await WaitForAsync(files, () => (result = files.ReadResult(command)) is not null, task.DueAt, cancellationToken).ConfigureAwait(false))
                    {
                        return TaskFailed(task.Id, $"result_timeout: no complete {task.Id}.json in {files.Folder} within {runtime.ResultTimeoutMs} ms");
                    }

                    var response = result!;
                    return new RunResult(task.Id, response.Status == ResponseStatus.Success ? "completed" : "failed", response,
                        response.Status == ResponseStatus.Success ? null : response.Stderr);
            }
        }
    }

    private TaskRow Save(TaskRow task)
    {
        var saved = task with { ChangedAt = _time.GetUtcNow() };
        Store.SaveTask(saved);
        return saved;
    }

    private AgentStore Store => _store ?? throw new InvalidOperationException("The agent store is closed.");

    private static TimeSpan Ms(int milliseconds) => TimeSpan.FromMilliseconds(milliseconds);

    // Said to the hub as the task enters each phase, and again on every connection (the last one may have been missed).
    private void Phase(TaskRow task)
    {
        _logger.LogInformation("Task #{Id}: {Phase}", task.Id, task.State);
        _ = SendAsync(new AgentMessage { Type = "running", Id = task.Id, Phase = task.State }, CancellationToken.None);
    }

    private RunResult TaskFailed(string id, string reason)
    {
        _logger.LogWarning("Task #{Id} failed: {Reason}", id, reason);
        return new RunResult(id, "failed", CommandResponse.Fail(reason), reason);
    }

    /// <summary>Watches a working task in the background; its result is stored and reported like any command's.</summary>
    private void Watch(TaskRow task, LoadedCommand command, CommandRequest request)
    {
        lock (_gate)
        {
            var stop = _watching.Token;
            if (stop.IsCancellationRequested || _watches.ContainsKey(task.Id))
            {
                return;
            }

            _watches[task.Id] = Task.Run(async () =>
            {
                try
                {
                    var finished = await DriveTaskAsync(task, command, request, resumed: true, stop).ConfigureAwait(false);
                    if (finished is not null)
                    {
                        Pump(finished);
                        await ReportStoredAsync(task.Id, stop).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // Stopping: the task stays as stored and the next server of this device resumes it.
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "Watching task #{Id} failed; it is resumed when the agent starts again", task.Id);
                }
                finally
                {
                    lock (_gate)
                    {
                        _watches.Remove(task.Id);
                    }
                }
            }, CancellationToken.None);
        }
    }

    /// <summary>Stops the background watches (their tasks stay as stored) and readies a new set for the next serving session.</summary>
    private async Task StopWatchesAsync()
    {
        Task[] watches;
        lock (_gate)
        {
            _watching.Cancel();
            watches = [.. _watches.Values];
        }

        await Task.WhenAll(watches).ConfigureAwait(false);
        lock (_gate)
        {
            _watching.Dispose();
            _watching = new CancellationTokenSource();
        }
    }

    /// <summary>At start: every stored task goes on from where it was (outside the device's order: whatever followed it may already have run).</summary>
    private void ResumeTasks(AgentStore store)
    {
        foreach (var task in store.OpenTasks())
        {
            if (store.Get(task.Id) is not { Status: AgentStore.Running } assignment)
            {
                continue; // finished, its result waiting for the hub's acknowledgement
            }

            if (ParsedInput.Parse(assignment.Text, _catalog) is not { Kind: InputKind.Meta, Match.Command: { Kind: HandlerKind.Task } command })
            {
                var reason = $"task '{assignment.Text}' is no longer installed here as a task";
                store.Finish(task.Id, "failed", CommandResponse.Fail(reason), reason);
            }
            else if (new TaskFiles(task.Folder, task.Id).ReadRequest() is not { } request)
            {
                var reason = $"task '{assignment.Text}' lost its request file {new TaskFiles(task.Folder, task.Id).Request}";
                store.Finish(task.Id, "failed", CommandResponse.Fail(reason), reason);
            }
            else
            {
                _logger.LogInformation("Resuming task #{Id} ({State})", task.Id, task.State);
                Watch(task, command, request);
            }
        }
    }

    /// <summary>Re-announces each task's phase on a new connection; the hub may have missed the last one.</summary>
    private void AnnounceTasks(AgentStore store)
    {
        foreach (var task in store.OpenTasks())
        {
            if (store.Get(task.Id) is { Status: AgentStore.Running })
            {
                _ = SendAsync(new AgentMessage { Type = "running", Id = task.Id, Phase = task.State }, CancellationToken.None);
            }
        }
    }

    /// <summary>The hub stored these results: they are marked reported, and the files of the tasks among them removed.</summary>
    private static void Acknowledged(AgentStore store, IReadOnlyList<string> ids)
    {
        var tasks = store.TasksAmong(ids);
        store.MarkReported(ids);
        foreach (var task in tasks)
        {
            new TaskFiles(task.Folder, task.Id).Delete();
        }
    }

    // Until check() holds or the deadline passes: woken by the folder's watcher, re-checked every second regardless.
    private async Task<bool> WaitForAsync(TaskFiles files, Func<bool> check, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        using var changed = new SemaphoreSlim(0);
        using var watcher = TaskFiles.Watch(files.Folder, () =>
        {
            try
            {
                changed.Release();
            }
            catch (ObjectDisposedException)
            {
                // The wait is over.
            }
        });
        while (true)
        {
            if (check())
            {
                return true;
            }

            var left = (deadline ?? DateTimeOffset.MaxValue) - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            await changed.WaitAsync(left < _taskRecheck ? left : _taskRecheck, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs the wake command once: without a shell (unless the manifest asks for one), in the manifest's folder, with the
    /// handler environment plus the task's variables, within the manifest's timeout. What it leaves running is the task
    /// and is not stopped. Returns null when it exited 0, else what went wrong.
    /// </summary>
    private async Task<string?> WakeAsync(LoadedCommand command, TaskFiles files, CommandRequest request, CancellationToken cancellationToken)
    {
        var runtime = command.Manifest.Runtime;
        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["TASK_ID"] = files.Id,
            ["TASK_JSON"] = files.Request,
            ["TASK_DESCRIPTION"] = request.Text,
            ["RESULTS_DIR"] = files.Folder,
        };
        var (program, arguments) = runtime.Shell
            ? ("/bin/sh", new[] { "-c", string.Join(' ', runtime.WakeCommand) })
            : (runtime.WakeCommand[0], runtime.WakeCommand[1..].Select(a => Expand(a, variables)).ToArray());
        if (!runtime.Shell && program.Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(program))
        {
            // Checked again now, as a handler is before each run: a link swapped in since the load must not lead out.
            if (HandlerPath.Check(command.Directory, program) is { } refused)
            {
                return refused.Message;
            }

            program = Path.GetFullPath(Path.Combine(command.Directory, program));
        }

        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = command.Directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var environment = HandlerEnvironment.For(command, request);
        foreach (var (name, value) in variables)
        {
            environment[name] = value;
        }

        HandlerEnvironment.Apply(info.Environment, environment);
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"could not start '{runtime.WakeCommand[0]}': {ex.Message}";
        }

        process.StandardInput.Close();
        // Read to the end in the background (a program the wake leaves running may keep the pipes, and must not be
        // stopped by a closed one); only what came before the exit is used.
        _ = Drain(process.StandardOutput, new StringBuilder());
        var stderr = new StringBuilder();
        var stderrRead = Drain(process.StandardError, stderr);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(command.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill();
            return $"the wake command did not exit within {runtime.TimeoutMs} ms";
        }

        if (process.ExitCode == 0)
        {
            return null;
        }

        // What it said before it exited may still be in the pipe: read to the end, or for a moment when a program it
        // left running holds the pipe open.
        try
        {
            await stderrRead.WaitAsync(_wakeOutputGrace, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Said without the rest.
        }

        string said;
        lock (stderr)
        {
            said = stderr.ToString().Trim();
        }

        return $"the wake command exited with code {process.ExitCode}{(said.Length > 0 ? $": {said.Split('\n')[^1]}" : "")}";
    }

    private static string Expand(string argument, Dictionary<string, string> variables) =>
        variables.Aggregate(argument, (text, pair) => text.Replace("${" + pair.Key + "}", pair.Value, StringComparison.Ordinal));

    private static async Task Drain(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                lock (into)
                {
                    if (into.Length < WakeOutputLimit)
                    {
                        into.Append(buffer, 0, Math.Min(read, WakeOutputLimit - into.Length));
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe went away with the process: nothing more to read.
        }
    }
}

/// <summary>
/// One task's files in its results folder: <c>&lt;id&gt;.request.json</c> (the request, TASK_JSON), <c>&lt;id&gt;.started</c>
/// (the task's confirmation) and <c>&lt;id&gt;.json</c> (its result envelope).
/// </summary>
internal sealed class TaskFiles(string folder, string id)
{
    public string Folder { get; } = folder;
    public string Id { get; } = id;
    public string Request => Path.Combine(Folder, Id + ".request.json");
    public string StartedPath => Path.Combine(Folder, Id + ".started");
    public string ResultPath => Path.Combine(Folder, Id + ".json");

    public bool Started => File.Exists(StartedPath);

    /// <summary>Hub ids name files here: only letters, digits, '-' and '_'.</summary>
    public static bool IsSafeId(string id) => id.Length is > 0 and <= 100 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Written whole, then renamed into place: a program watching the folder never reads half of it.</summary>
    public void WriteRequest(byte[] json)
    {
        var temporary = Request + ".tmp";
        File.WriteAllBytes(temporary, json);
        File.Move(temporary, Request, overwrite: true);
    }

    /// <summary>The request as the task was given it; null when the file is gone or damaged.</summary>
    public CommandRequest? ReadRequest()
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(Request), IsaacJson.Default.CommandRequest);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The result once it is complete: a file written in pieces is not a whole JSON object until its last piece, so
    /// it is read again on the next change; null until then.
    /// </summary>
    public CommandResponse? ReadResult(LoadedCommand command)
    {
        try
        {
            // The same cap as a handler's stdout: a runaway result file is a failure, not something to load.
            var limit = command.Manifest.Security.Resources.MaxStdoutKib * 1024L;
            if (new FileInfo(ResultPath) is { Exists: true, Length: var size } && size > limit)
            {
                return CommandResponse.Fail($"the task's result file {ResultPath} is {size} bytes, over security.resources.max_stdout_kib ({limit / 1024} KiB)");
            }

            var text = File.ReadAllText(ResultPath);
            return Envelope.Parse(command, text, "", 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HandlerException)
        {
            return null;
        }
    }

    public void Delete()
    {
        foreach (var path in new[] { Request, StartedPath, ResultPath })
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left behind; harmless (the result was acknowledged).
            }
        }
    }

    /// <summary>Calls <paramref name="changed"/> on any change in the folder; null when the system cannot watch it (then the caller's re-check serves).</summary>
    public static FileSystemWatcher? Watch(string folder, Action changed)
    {
        try
        {
            var watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.LastWrite };
            watcher.Created += (_, _) => changed();
            watcher.Changed += (_, _) => changed();
            watcher.Renamed += (_, _) => changed();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            return null;
        }
    }
}
