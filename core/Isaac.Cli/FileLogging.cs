using Isaac.Cli.Shell;
using Isaac.Core.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Filters;
using Serilog.Sinks.SystemConsole.Themes;

namespace Isaac.Cli;

/// <summary>
/// Isaac logs to <c>&lt;ISAAC_HOME&gt;/logs/isaac-YYYYMMDD.log</c>, never to the prompt; <c>isaac hub</c> and
/// <c>isaac agent</c> (and any command with <c>-v</c>) also log to stderr. The logger is built on the first message
/// worth keeping, so a command that logs nothing never pays for it. Nothing of Serilog is loaded before then: the
/// field is typed by the Microsoft.Extensions.Logging interface and Serilog is named only inside <see cref="Build"/>.
/// </summary>
internal sealed class FileLogging : ILoggerFactory
{
    private readonly Lazy<ILoggerFactory> _files;
    private readonly LogLevel _minimum;

    private FileLogging(IsaacSettings settings, bool console)
    {
        var verbosity = GlobalOptions.Verbosity;
        console |= verbosity == Verbosity.Verbose;
        _minimum = verbosity == Verbosity.Verbose ? LogLevel.Debug : LogLevel.Information; // the file keeps Information up even with -q
        _files = new(() => Build(settings, console, verbosity));
    }

    private static SerilogLoggerFactory Build(IsaacSettings settings, bool console, Verbosity verbosity)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(verbosity == Verbosity.Verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            // ASP.NET Core says five lines per request at Information: a busy hub's log would grow by gigabytes a day,
            // and writing them cost the hub more than routing. Its warnings and errors stay; -v shows everything.
            .MinimumLevel.Override("Microsoft.AspNetCore", verbosity == Verbosity.Verbose ? LogEventLevel.Debug : LogEventLevel.Warning)
            .Enrich.WithProperty("Pid", Environment.ProcessId)
            .WriteTo.File(
                Path.Combine(settings.LogsPath, "isaac-.log"),
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 14,
                shared: true, // several isaac processes may share one ISAAC_HOME
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] {Pid} {SourceContext}: {Message:lj}{NewLine}{Exception}");
        if (console)
        {
            // The console shows what the person needs: no stack traces and none of ASP.NET Core's own messages (its
            // per-request chatter, and a failed start that Isaac says in one line itself); the file keeps them, and
            // -v shows everything.
            var verbose = verbosity == Verbosity.Verbose;
            configuration.WriteTo.Logger(sub => sub
                .Filter.ByExcluding(e => !verbose && Matching.FromSource("Microsoft")(e))
                .WriteTo.Console(
                    restrictedToMinimumLevel: verbosity switch { Verbosity.Quiet => LogEventLevel.Warning, Verbosity.Verbose => LogEventLevel.Debug, _ => LogEventLevel.Information },
                    outputTemplate: verbose
                        ? "{Timestamp:HH:mm:ss} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}"
                        : "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}",
                    theme: Terminal.ErrorColor ? AnsiConsoleTheme.Code : ConsoleTheme.None,
                    standardErrorFromLevel: LogEventLevel.Verbose)); // all of it on stderr: stdout is for answers
        }

        return new SerilogLoggerFactory(configuration.CreateLogger(), dispose: true);
    }

    /// <param name="console">Also log to stderr (the hub and the agent); <c>-v</c> turns it on for any command.</param>
    public static ILoggerFactory Create(IsaacSettings settings, bool console = false) => new FileLogging(settings, console);

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Deferred(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Isaac logs to its file (and console) only.");

    public void Dispose()
    {
        if (_files.IsValueCreated)
        {
            _files.Value.Dispose();
        }
    }

    private sealed class Deferred(FileLogging owner, string category) : Microsoft.Extensions.Logging.ILogger
    {
        private Microsoft.Extensions.Logging.ILogger? _logger;

        private Microsoft.Extensions.Logging.ILogger Logger => _logger ??= owner._files.Value.CreateLogger(category);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => Logger.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Logger.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
