// The `model:` section's YAML form.
#include "io/model_yaml.h"

#include <yaml-cpp/yaml.h>

#include "common/error.h"

namespace triseg::io {

const detail::EnumNames<models::ModelArch>& arch_names() {
    static const detail::EnumNames<models::ModelArch> names = {
        {models::ModelArch::Vgg11, "vgg11"},
        {models::ModelArch::Vgg16, "vgg16"},
        {models::ModelArch::ResNet20, "resnet20"},
        {models::ModelArch::ResNet32, "resnet32"},
        {models::ModelArch::ResNet56, "resnet56"},
        {models::ModelArch::ResNet18, "resnet18"},
        {models::ModelArch::MobileNetV2, "mobilenetv2"}};
    return names;
}

std::string model_to_yaml(const models::ModelOptions& model) {
    YAML::Emitter out;
    detail::MapWriter writer(out);
    models::ModelOptions copy = model;
    out << YAML::BeginMap;
    visit_model_fields(writer, copy);
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

models::ModelOptions model_from_yaml(const std::string& yaml_text, const std::string& source) {
    const detail::ConfigOrigin origin{source, {}};
    models::ModelOptions model;
    detail::MapReader reader(detail::load_yaml(yaml_text, source), "model", origin);
    visit_model_fields(reader, model);
    reader.finish();
    try {
        model.validate();
    } catch (const ConfigError& e) {
        throw ConfigError(std::string(e.what()) + " (in " + source + ")", e.where());
    }
    return model;
}

} // namespace triseg::io
