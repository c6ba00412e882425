package io.closeconnect.users;

import java.util.Set;
import java.util.TreeSet;

import javax.management.ObjectName;

/** What tests outside this package need to know of the task's metrics: their names and MBean names. */
public final class TaskMetricsNames {

    public static final String SWEEPS_COMPLETED = SyncMetrics.SWEEPS_COMPLETED;
    public static final String USERS_EMITTED_TOTAL = SyncMetrics.USERS_EMITTED_TOTAL;

    private TaskMetricsNames() {
    }

    /** Every metric the task declares, which both publishing paths publish. */
    public static Set<String> declared() {
        Set<String> names = new TreeSet<>();
        new SyncMetrics().declared().forEach(metric -> names.add(metric.name()));
        return names;
    }

    /** The connector's own MBean, on workers without plugin metrics. */
    public static ObjectName ownMBean(String connector) {
        return SyncMetricsMBean.objectName(connector);
    }

    /** The MBean a worker with plugin metrics (Kafka 4.1+) registers for the task. */
    public static ObjectName pluginMBean(String connector) {
        try {
            return new ObjectName("kafka.connect:type=plugins,connector=" + connector + ",task=0");
        } catch (javax.management.MalformedObjectNameException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
