using Isaac.Core.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;

namespace Isaac.Cli;

/// <summary>
/// Isaac logs to <c>&lt;ISAAC_HOME&gt;/logs/isaac-YYYYMMDD.log</c>, never to the prompt. The file logger is built on
/// the first message at Information or above, so a command that logs nothing worth keeping never pays for it.
/// Nothing of Serilog is loaded before then: the field is typed by the Microsoft.Extensions.Logging interface and
/// Serilog is named only inside <see cref="Build"/>.
/// </summary>
internal sealed class FileLogging(IsaacSettings settings) : ILoggerFactory
{
    private readonly Lazy<ILoggerFactory> _files = new(() => Build(settings));

    private static SerilogLoggerFactory Build(IsaacSettings settings) => new(new LoggerConfiguration()
        .MinimumLevel.Information()
        .Enrich.WithProperty("Pid", Environment.ProcessId)
        .WriteTo.File(
            Path.Combine(settings.LogsPath, "isaac-.log"),
            rollingInterval: RollingInterval.Day,
            retainedFileCountLimit: 14,
            shared: true, // several isaac processes may share one ISAAC_HOME
            outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] {Pid} {SourceContext}: {Message:lj}{NewLine}{Exception}")
        .CreateLogger(), dispose: true);

    public static ILoggerFactory Create(IsaacSettings settings) => new FileLogging(settings);

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Deferred(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Isaac logs to its file only.");

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

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Logger.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
