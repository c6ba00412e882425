package io.closeconnect.users;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connector's own MBean, for workers without plugin metrics (before Kafka 4.1):
 * {@value #DOMAIN}{@code :type=task-metrics,connector=<name>,task=0}, in the platform MBean server
 * that JMX exporters read. One read-only attribute per declared metric, a double, with the same
 * name and description as on the plugin metrics path. The connector runs one task, so {@code task}
 * is always 0.
 */
final class SyncMetricsMBean implements DynamicMBean, AutoCloseable {

    static final String DOMAIN = "io.closeconnect.users";
    private static final Logger log = LoggerFactory.getLogger(SyncMetricsMBean.class);
    private static final Pattern PLAIN = Pattern.compile("[\\w.-]*");
    /** Which instance owns each name: a task that has not finished stopping must not unregister its successor. */
    private static final Map<ObjectName, SyncMetricsMBean> OWNERS = new ConcurrentHashMap<>();

    private final ObjectName name;
    private final Map<String, SyncMetrics.Metric> metrics = new java.util.LinkedHashMap<>();
    private final MBeanInfo info;

    private SyncMetricsMBean(ObjectName name, List<SyncMetrics.Metric> declared) {
        this.name = name;
        MBeanAttributeInfo[] attributes = new MBeanAttributeInfo[declared.size()];
        for (int i = 0; i < declared.size(); i++) {
            SyncMetrics.Metric metric = declared.get(i);
            metrics.put(metric.name(), metric);
            attributes[i] = new MBeanAttributeInfo(metric.name(), double.class.getName(), metric.description(),
                    true, false, false);
        }
        this.info = new MBeanInfo(getClass().getName(), "Metrics of the Close users task", attributes, null, null, null);
    }

    /** The object name for a connector's task: the connector name quoted as JMX needs it, as Kafka does. */
    static ObjectName objectName(String connector) {
        String value = PLAIN.matcher(connector).matches() ? connector : ObjectName.quote(connector);
        try {
            return new ObjectName(DOMAIN + ":type=task-metrics,connector=" + value + ",task=0");
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("No MBean name for connector " + connector, e);
        }
    }

    /**
     * Registers the metrics in the platform MBean server. An MBean left under the same name by an
     * earlier task of the connector that is still stopping is replaced. Never throws: without JMX
     * the task runs on, and says so.
     */
    static SyncMetricsMBean register(String connector, List<SyncMetrics.Metric> declared) {
        SyncMetricsMBean mbean = new SyncMetricsMBean(objectName(connector), declared);
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        synchronized (OWNERS) {
            try {
                try {
                    server.registerMBean(mbean, mbean.name);
                } catch (InstanceAlreadyExistsException e) {
                    server.unregisterMBean(mbean.name);
                    server.registerMBean(mbean, mbean.name);
                }
                OWNERS.put(mbean.name, mbean);
            } catch (JMException | RuntimeException e) {
                log.warn("Could not register the MBean {}; the task runs without published metrics", mbean.name, e);
            }
        }
        return mbean;
    }

    ObjectName objectName() {
        return name;
    }

    /** Unregisters the MBean, unless a newer task of the connector has registered its own under the name. */
    @Override
    public void close() {
        synchronized (OWNERS) {
            if (!OWNERS.remove(name, this)) {
                return;
            }
            try {
                ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
            } catch (InstanceNotFoundException e) {
                // Already gone.
            } catch (JMException e) {
                log.debug("Could not unregister {}", name, e);
            }
        }
    }

    @Override
    public Object getAttribute(String attribute) throws AttributeNotFoundException {
        SyncMetrics.Metric metric = metrics.get(attribute);
        if (metric == null) {
            throw new AttributeNotFoundException("No metric " + attribute + " in " + name);
        }
        return metric.valueAt(System.currentTimeMillis());
    }

    @Override
    public AttributeList getAttributes(String[] attributes) {
        AttributeList list = new AttributeList();
        long now = System.currentTimeMillis();
        for (String attribute : attributes) {
            SyncMetrics.Metric metric = metrics.get(attribute);
            if (metric != null) {
                list.add(new Attribute(attribute, metric.valueAt(now)));
            }
        }
        return list;
    }

    @Override
    public void setAttribute(Attribute attribute) {
        throw new UnsupportedOperationException("The task's metrics are read-only");
    }

    @Override
    public AttributeList setAttributes(AttributeList attributes) {
        return new AttributeList();
    }

    @Override
    public Object invoke(String actionName, Object[] params, String[] signature) {
        throw new UnsupportedOperationException("The task's metrics have no operations");
    }

    @Override
    public MBeanInfo getMBeanInfo() {
        return info;
    }
}
