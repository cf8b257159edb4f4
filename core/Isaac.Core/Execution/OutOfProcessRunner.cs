using System.ComponentModel;
using System.Text.Json;
using CliWrap;
using CliWrap.Exceptions;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>
/// Runs a script or executable handler: the request as one JSON document on stdin, one JSON response on stdout,
/// stderr as its log. The whole process tree is killed at the deadline or when stdout passes its cap.
/// </summary>
internal sealed class OutOfProcessRunner : IHandlerRunner
{
    public async Task<CommandResponse> RunAsync(LoadedCommand command, CommandRequest request, CancellationToken cancellationToken = default)
    {
        var limits = command.Manifest.Security.Resources;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(command.Timeout);

        var stdout = new CappedBuffer(limits.MaxStdoutKib * 1024, onOverflow: stop.Cancel);
        var stderr = new CappedBuffer(limits.MaxStderrKib * 1024);
        var program = ResolveProgram(command);
        var (wrapped, arguments) = ProcessGroup.Wrap(program, command.Manifest.Runtime.Interpreter is null ? [] : [command.HandlerPath]);
        var environment = HandlerEnvironment.For(command, request);

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
        int leader = 0;
        try
        {
            // CliWrap's forceful cancellation kills the process tree; killing the group also catches a child forked meanwhile.
            var execution = cli.ExecuteAsync(
                startInfo => HandlerEnvironment.Apply(startInfo.Environment, environment),
                configureProcess: null,
                forcefulCancellationToken: stop.Token,
                gracefulCancellationToken: CancellationToken.None);
            leader = execution.ProcessId;
            await using (stop.Token.Register(() => ProcessGroup.Kill(leader)).ConfigureAwait(false))
            {
                exitCode = (await execution.ConfigureAwait(false)).ExitCode;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw stdout.Overflowed
                ? HandlerException.Truncated(command, stdout.ToString(), "its handler process was killed")
                : HandlerException.TimedOut(command, "its handler process was killed");
        }
        catch (Exception ex) when (ex is Win32Exception or CommandExecutionException)
        {
            throw HandlerException.CannotStart(command, program, ex);
        }
        finally
        {
            // A handler's background children never outlive it.
            ProcessGroup.Kill(leader);
        }

        if (stdout.Overflowed)
        {
            // The handler finished before the kill landed; it still broke its limit.
            throw HandlerException.Truncated(command, stdout.ToString(), "the rest was discarded");
        }

        return Envelope.Parse(command, stdout.ToString(), stderr.ToString(), exitCode);
    }

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
