from spiders.couriers.base import CourierPageSpider


class YundaSpider(CourierPageSpider):
    name = "yunda"
    courier = "yunda"
