using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using CliWrap;
using CliWrap.Exceptions;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>
/// Runs a script or executable handler: the request as one JSON document on stdin, one JSON response on stdout,
/// stderr as its log. Every process of the run is killed at the deadline, when stdout passes its cap, and when the
/// handler exits (<see cref="ProcessTree"/> finds them, even those that left its process group).
/// </summary>
internal sealed class OutOfProcessRunner : IHandlerRunner
{
    /// <summary>How long stdout may stay open after the handler exited before its stragglers are killed.</summary>
    private static readonly TimeSpan _straggleGrace = TimeSpan.FromMilliseconds(250);

    /// <summary>How long, after that kill, before what was written is taken as the answer without waiting for EOF.</summary>
    private static readonly TimeSpan _eofGrace = TimeSpan.FromSeconds(1);

    public async Task<CommandResponse> RunAsync(LoadedCommand command, CommandRequest request, CancellationToken cancellationToken = default)
    {
        var limits = command.Manifest.Security.Resources;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(command.Timeout);
        // CliWrap's own token: cancelled by stop, or by us to stop reading a pipe that a straggler holds open.
        using var pipes = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);

        var stdout = new CappedBuffer(limits.MaxStdoutKib * 1024, onOverflow: stop.Cancel);
        var stderr = new CappedBuffer(limits.MaxStderrKib * 1024);
        var program = ResolveProgram(command);
        var (wrapped, arguments) = ProcessTree.Wrap(program, command.Manifest.Runtime.Interpreter is null ? [] : [command.HandlerPath]);
        using var run = HandlerContainment.Begin();
        var environment = HandlerEnvironment.For(command, request);
        environment[ProcessTree.MarkerVariable] = run.Marker;

        var cli = Cli.Wrap(wrapped)
            .WithArguments(arguments)
            .WithWorkingDirectory(request.WorkingDirectory)
            .WithStandardInputPipe(command.Manifest.Runtime.Stdin
                ? PipeSource.FromBytes(JsonSerializer.SerializeToUtf8Bytes(request, IsaacJson.Default.CommandRequest))
                : PipeSource.Null)
            .WithStandardOutputPipe(stdout.Target)
            .WithStandardErrorPipe(stderr.Target)
            .WithValidation(CommandResultValidation.None);

        int exitCode;
        int? handlerExit = null;
        try
        {
            // CliWrap completes when the pipes close, which a background child holding stdout can delay forever;
            // the handler's own exit is watched separately so that an answer already written is not lost.
            Task<int?> exited = Task.FromResult<int?>(null);
            var execution = cli.ExecuteAsync(
                startInfo => HandlerEnvironment.Apply(startInfo.Environment, environment),
                process => exited = ExitCodeAsync(process),
                forcefulCancellationToken: pipes.Token,
                gracefulCancellationToken: CancellationToken.None);
            run.Started(execution.ProcessId);
            await using (stop.Token.Register(run.Kill).ConfigureAwait(false))
            {
                // At the deadline or cap the handler is killed, so this returns then too.
                await Task.WhenAny(exited, execution.Task).ConfigureAwait(false);
                handlerExit = exited.IsCompleted ? await exited.ConfigureAwait(false) : null;
                if (!stop.IsCancellationRequested && !await FinishesWithinAsync(execution.Task, _straggleGrace).ConfigureAwait(false))
                {
                    run.Kill();
                    if (!await FinishesWithinAsync(execution.Task, _eofGrace).ConfigureAwait(false))
                    {
                        // Something outside the run's reach still holds stdout: stop reading and use what was written.
                        await pipes.CancelAsync().ConfigureAwait(false);
                    }
                }

                exitCode = (await execution.ConfigureAwait(false)).ExitCode;
                // The kill may land before CliWrap notices the cancellation: then a killed handler looks like one
                // that simply exited.
                stop.Token.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            if (stdout.Overflowed)
            {
                throw HandlerException.Truncated(command, stdout.ToString(), "its handler process was killed");
            }

            if (stop.IsCancellationRequested || handlerExit is not { } code)
            {
                throw HandlerException.TimedOut(command, "its handler process was killed");
            }

            exitCode = code;
        }
        catch (Exception ex) when (ex is Win32Exception or CommandExecutionException)
        {
            throw HandlerException.CannotStart(command, program, ex);
        }

        if (stdout.Overflowed)
        {
            // The handler finished before the kill landed; it still broke its limit.
            throw HandlerException.Truncated(command, stdout.ToString(), "the rest was discarded");
        }

        return Envelope.Parse(command, stdout.ToString(), stderr.ToString(), exitCode);
    }

    // Read while CliWrap still holds the process; null if it was already disposed (CliWrap's result has the code then).
    private static async Task<int?> ExitCodeAsync(Process process)
    {
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            return process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static async Task<bool> FinishesWithinAsync(Task task, TimeSpan grace) =>
        await Task.WhenAny(task, Task.Delay(grace)).ConfigureAwait(false) == task;

    // Checked here because once setsid runs, a missing program is only an exit code.
    private static string ResolveProgram(LoadedCommand command)
    {
        ExecutableLookup.EnsureHandlerInside(command);
        var program = command.Manifest.Runtime.Interpreter ?? command.HandlerPath;
        return ExecutableLookup.Resolve(program)
            ?? throw HandlerException.CannotStart(command, program, new FileNotFoundException(
                File.Exists(program) ? "permission denied" : "no such file", program));
    }
}
